{{ config(materialized='ephemeral') }}

{#-
    Every enabled monitoring threshold (seed monitoring_thresholds) with the window its
    metric is computed over: evaluated_at = as_of, window_start = as_of less time_window
    (null without a window). Shared by int_ops_threshold_values and
    int_ops_campaign_threshold_values.
-#}

with

thresholds as (
    select * from {{ ref('monitoring_thresholds') }}
    where enabled
),

as_of as (
    select {{ as_of_timestamp() }} as evaluated_at
),

final as (
    select
        thresholds.threshold_id,
        thresholds.metric,
        as_of.evaluated_at,
        case
            when thresholds.time_window is not null and trim(thresholds.time_window) <> ''
                then {{ minus_duration('as_of.evaluated_at', 'thresholds.time_window') }}
        end as window_start
    from thresholds
    cross join as_of
)

select * from final
