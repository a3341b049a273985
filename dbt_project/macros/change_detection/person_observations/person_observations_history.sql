{#-
    int_person_observations, part 6: the history path's input - the new observations not
    taken by the fast path (one per profile and dataset), and the whole history of their
    profiles: stored rows, new intake rows and unstored observations (part 6b).
    CTEs: history_new, history_profiles, [part 6b], history.
-#}
{% macro person_observations_history(o) -%}
-- the history path: the rest of the new observations, one per profile and dataset
history_new as (
    select *
    from (
        select
            routed.*,
            row_number() over (
                partition by routed.profile_url, routed.source_ref
                order by routed.item_index asc, routed.item_key asc
            ) as row_in_dataset
        from routed
        where not routed.is_fast
    ) as ranked
    where row_in_dataset = 1
),

history_profiles as (
    select distinct profile_url from history_new
),
{%- if o.incremental %}

{{ person_observations_unstored(o) }},
{%- endif %}

-- what the windows work on: the history of the profiles concerned
history as (
    select
        {{ column_list('{c}', o.history_columns) }},
        true as is_new,
        false as is_unstored,
        cast(null as {{ dbt.type_boolean() }}) as stored_is_late
    from history_new
    union all
    select
        {{ column_list('{c}', o.history_columns) }},
        true as is_new,
        false as is_unstored,
        cast(null as {{ dbt.type_boolean() }}) as stored_is_late
    from intake_observed
    where profile_url in (select history_profiles.profile_url from history_profiles)
    {%- if o.incremental %}
    union all
    select
        {{ column_list('seen.{c}', o.history_columns) }},
        false as is_new,
        false as is_unstored,
        seen.is_late as stored_is_late
    from {{ this }} as seen
    where
        seen.origin in ('linkedin', 'intake')
        and exists (select 1 from history_new)
        and seen.profile_url in (select history_profiles.profile_url from history_profiles)
    union all
    select
        {{ dbt.concat(["'apify:'", 'unstored.item_key']) }} as observation_key,
        'linkedin' as origin,
        unstored.profile_url,
        unstored.observed_at,
        unstored.loaded_at,
        case when unstored.observed_at < unstored.loaded_at then unstored.observed_at else unstored.loaded_at end
            as event_at,
        unstored.title,
        unstored_title_map.title_key,
        unstored.has_current_position,
        unstored.company_name as employer_name,
        unstored_employer_map.employer_linkedin_url,
        unstored_employer_map.employer_domain,
        unstored_employer_map.employer_name_key,
        unstored_employer_map.employer_company_id,
        false as is_new,
        true as is_unstored,
        cast(null as {{ dbt.type_boolean() }}) as stored_is_late
    from unstored
    left join unstored_title_map on unstored.title = unstored_title_map.title_given
    left join unstored_employer_map
        on
            coalesce(unstored.company_name, '') = unstored_employer_map.employer_name_match
            and coalesce(unstored.company_linkedin_url, '') = unstored_employer_map.employer_linkedin_url_match
    {%- endif %}
)
{%- endmacro %}
