{{ config(materialized='incremental', on_schema_change='append_new_columns') }}

{#-
    One row per monitoring threshold breach (seed monitoring_thresholds, values from
    int_ops_threshold_values), append-only: a breach is kept as first detected. alert_id is
    a hash of the threshold, the subject and the evidence the value was computed from, so
    rebuilding while nothing new happened finds the same breach (no new row, no second
    notification); new evidence that still breaches (a newer job, another hour of errors)
    is a new alert.
-#}

with

breaches as (
    select * from {{ ref('int_ops_threshold_values') }}
    where is_breached
),

identified as (
    select
        cast({{ dbt.hash(dbt.concat([
            'threshold_id', "'|'", 'subject', "'|'", 'evidence_key'
        ])) }} as {{ dbt.type_string() }}) as alert_id,
        breaches.*
    from breaches
),

final as (
    select
        identified.alert_id,
        identified.threshold_id,
        identified.metric,
        identified.subject,
        identified.observed_value,
        identified.threshold,
        identified.comparison,
        identified.severity,
        identified.time_window,
        identified.window_start,
        identified.evaluated_at as detected_at,
        identified.sample_size,
        identified.evidence_key,
        identified.description
    from identified
    {% if is_incremental() %}
        left join {{ this }} as known on identified.alert_id = known.alert_id
        where known.alert_id is null
    {% endif %}
)

select * from final
