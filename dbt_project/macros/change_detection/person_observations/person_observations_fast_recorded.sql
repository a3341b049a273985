{#-
    int_person_observations, part 5 (fast path only): the observations the fast path
    records - those that differ from their state, first item of a profile per dataset.
    CTEs: fast_candidates, superseded, fast_recorded.
-#}
{% macro person_observations_fast_recorded(o) -%}
-- the observations the fast path records: each differs from its state (or has none)
fast_candidates as (
    select
        routed.*,
        coalesce(routed.employer_changed or routed.title_changed, false) as is_change,
        routed.state_observation_key as previous_observation_key
    from routed
    where routed.is_fast
),

-- only the first item of a profile in a dataset counts (stg_apify__profile_items' rule):
-- the rows to store that have an earlier item (the few rows to store are hashed, the
-- batch streams past them - no sort of the batch)
superseded as (
    select distinct candidates.observation_key
    from fast_candidates as candidates
    inner join items as earlier
        on
            candidates.profile_url = earlier.profile_url
            and candidates.source_ref = earlier.dataset_id
    where
        earlier.has_name
        and earlier.item_shape is distinct from 'unparsed'
        and (coalesce(earlier.item_index, 9223372036854775807), earlier.item_key)
        < (coalesce(candidates.item_index, 9223372036854775807), candidates.item_key)
),

fast_recorded as (
    select * from fast_candidates
    where observation_key not in (select superseded.observation_key from superseded)
)
{%- endmacro %}
