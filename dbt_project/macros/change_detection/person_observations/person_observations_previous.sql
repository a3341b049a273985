{#-
    int_person_observations, part 9: for each history-path row, the recorded observation it
    is compared with and what changed (previous_* columns).
    CTEs: recorded_groups, group_openers, history_decided.
-#}
{% macro person_observations_previous(o) -%}
-- the recorded observation before each row: the group a recorded row opens runs to the
-- next recorded row
recorded_groups as (
    select
        *,
        count(case when is_recorded then 1 end) over chain as recorded_group
    from decided
    window chain as (
        partition by profile_url, origin, is_late_now
        order by loaded_at, observation_key
        rows between unbounded preceding and current row
    )
),

group_openers as (
    select
        *,
        case
            when recorded_group > 0 then first_value(observation_key) over (
                partition by profile_url, origin, is_late_now, recorded_group
                order by loaded_at, observation_key
                rows between unbounded preceding and current row
            )
        end as group_opener_key,
        case
            when recorded_group > 0 then first_value(observed_at) over (
                partition by profile_url, origin, is_late_now, recorded_group
                order by loaded_at, observation_key
                rows between unbounded preceding and current row
            )
        end as group_opener_observed_at
    from recorded_groups
),

history_decided as (
    select
        observation_key,
        is_recorded,
        is_new,
        case
            when against_baseline then chain_baseline_key
            else lag(group_opener_key) over chain
        end as previous_observation_key,
        case
            when against_baseline and chain_baseline_key is null then null
            when against_baseline then baseline_employer_changed
            else previous_employer_changed
        end as employer_changed,
        case
            when against_baseline and chain_baseline_key is null then null
            when against_baseline then baseline_title_changed
            else previous_title_changed
        end as title_changed,
        -- the state compared with: the baseline's, or the previous row's (a row that is not
        -- recorded has the state of its group's opener, which is what it points to)
        case
            when against_baseline then baseline_origin
            when lag(group_opener_key) over chain is not null then 'linkedin'
        end as previous_origin,
        case
            when against_baseline then baseline_observed_at
            else lag(group_opener_observed_at) over chain
        end as previous_observed_at,
        case when against_baseline then baseline_title else previous_title end as previous_title,
        case when against_baseline then baseline_employer_name else previous_employer_name end
            as previous_employer_name,
        case when against_baseline then baseline_employer_linkedin_url else previous_employer_linkedin_url end
            as previous_employer_linkedin_url,
        case when against_baseline then baseline_employer_domain else previous_employer_domain end
            as previous_employer_domain,
        case when against_baseline then baseline_employer_company_id else previous_employer_company_id end
            as previous_employer_company_id
    from group_openers
    window chain as (
        partition by profile_url, origin, is_late_now
        order by loaded_at, observation_key
    )
)
{%- endmacro %}
