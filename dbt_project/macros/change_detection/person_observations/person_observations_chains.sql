{#-
    int_person_observations, part 7: window functions over the history - late rows
    flagged, each profile's in-time LinkedIn chain, and the intake baseline it starts from.
    CTEs: linkedin_flagged, in_time, baseline_groups, baselines, chains.
-#}
{% macro person_observations_chains(o) -%}
-- A LinkedIn observation is late when one loaded before it was observed after it (an old
-- export imported after newer data): recorded, but not compared, and nothing is compared
-- with it. (Intake rows get windows of their own partition here; only LinkedIn rows use them.)
linkedin_flagged as (
    select
        *,
        case
            when origin <> 'linkedin' then false
            when is_new or is_unstored
                then coalesce(
                    observed_at < max(observed_at) over (
                        partition by profile_url, origin
                        order by loaded_at, observation_key
                        rows between unbounded preceding and 1 preceding
                    ),
                    false
                )
            else stored_is_late
        end as is_late_now
    from history
),

-- the in-time LinkedIn observations of a profile in load order (= observation-time order)
-- form its chain; late rows form a partition of their own
in_time as (
    select
        *,
        lag(observation_key) over chain as lag_key,
        row_number() over chain as chain_position
    from linkedin_flagged
    window chain as (partition by profile_url, origin, is_late_now order by loaded_at, observation_key)
),

-- a chain starts from its intake baseline: the latest intake row loaded no later than its
-- first observation was made and loaded. All rows in one time order (intake rows first on
-- ties); each row falls in the group the last intake row before it opened (group 0: none),
-- so a group's first row is its intake row.
baseline_groups as (
    select
        *,
        count(case when origin_rank = 0 then 1 end) over (
            partition by profile_url
            order by event_at, origin_rank, observation_key
            rows between unbounded preceding and current row
        ) as intake_group
    from (
        select
            *,
            case when origin = 'intake' then 0 else 1 end as origin_rank
        from in_time
    ) as in_time_events
),

baselines as (
    select
        *,
        case when intake_group > 0 then first_value(observation_key) over intake_rows_first end as group_key
    from baseline_groups
    window intake_rows_first as (
        partition by profile_url, intake_group
        order by event_at, origin_rank, observation_key
        rows between unbounded preceding and current row
    )
),

chains as (
    select
        *,
        first_value(group_key) over (
            partition by profile_url, origin, is_late_now
            order by loaded_at, observation_key
            rows between unbounded preceding and current row
        ) as chain_baseline_key
    from baselines
)
{%- endmacro %}
