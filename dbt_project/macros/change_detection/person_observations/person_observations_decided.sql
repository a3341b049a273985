{#-
    int_person_observations, part 8: each chain row compared with the row before it and with
    its baseline; the chain's anchor; whether the row is recorded.
    CTEs: paired, compared, anchored, decided.
-#}
{% macro person_observations_decided(o) -%}
-- each LinkedIn row with the state of the row before it and of its chain's baseline (the
-- windows carry keys only: one lookup each, not a window per state column)
paired as (
    select
        chains.*,
        {{ column_list('previous.{c} as previous_{c}', o.state_columns) }},
        {{ column_list('baseline.{c} as baseline_{c}', o.state_columns) }},
        baseline.origin as baseline_origin,
        baseline.observed_at as baseline_observed_at
    from chains
    left join history as previous on chains.lag_key = previous.observation_key
    left join history as baseline on chains.chain_baseline_key = baseline.observation_key
    where chains.origin = 'linkedin' and not chains.is_late_now
),

compared as (
    select
        *,
        {{ employer_changed('', 'baseline_') }} as baseline_employer_changed,
        {{ title_changed('', 'baseline_') }} as baseline_title_changed,
        {{ employer_changed('', 'previous_') }} as previous_employer_changed,
        {{ title_changed('', 'previous_') }} as previous_title_changed,
        lag_key is not null and {{ observation_state_differs('', 'previous_') }} as differs_from_previous
    from paired
),

-- the chain's first recorded observation (its anchor): the first stored one, or the first
-- new one that differs from the baseline (or has none). Up to it, observations are
-- compared with the baseline; after it, with the observation before them.
anchored as (
    select
        *,
        min(
            case
                when not is_new and not is_unstored then chain_position
                when
                    is_new and (
                        chain_baseline_key is null
                        or baseline_employer_changed
                        or baseline_title_changed
                        or title is distinct from baseline_title
                    )
                    then chain_position
            end
        ) over (partition by profile_url, origin, is_late_now) as anchor_position
    from compared
),

decided as (
    select
        *,
        case
            when not is_new then not is_unstored
            when anchor_position is null or chain_position < anchor_position then false
            when chain_position = anchor_position then true
            else differs_from_previous
        end as is_recorded,
        anchor_position is null or chain_position <= anchor_position as against_baseline
    from anchored
)
{%- endmacro %}
