{#-
    The ops alert outbox, same contract as marketing.kpi_alert_notifications: one
    notification per ops alert, a stable notification_id (the Idempotency-Key of its
    delivery), the JSON payload to POST and created_at (send order). Delivered like the KPI
    alerts by exports/outbox.py (target `alerts`, exports/alerts.py ALERT_OUTBOXES; id
    column notification_id).
-#}
with

alerts as (
    select * from {{ ref('ops_alerts') }}
),

described as (
    select
        *,
        {{ dbt.concat(["'ops_alert:'", 'alert_id']) }} as notification_id,
        {{ dbt.concat([
            "upper(severity)", "': '", 'metric', "' of '", 'subject', "' is '",
            "cast(round(observed_value, 4) as " ~ dbt.type_string() ~ ")",
            "case comparison when 'below' then ' (below ' else ' (above ' end",
            "cast(threshold as " ~ dbt.type_string() ~ ")",
            "')'",
        ]) }} as message
    from alerts
),

final as (
    select
        cast(notification_id as {{ dbt.type_string() }}) as notification_id,
        alert_id,
        cast('ops_alert' as {{ dbt.type_string() }}) as event_type,
        threshold_id,
        metric,
        severity,
        detected_at as created_at,
        {{ build_json_object([
            ('notification_id', 'notification_id'),
            ('event_type', "'ops_alert'"),
            ('alert_id', 'alert_id'),
            ('message', 'message'),
            ('threshold', build_json_object([
                ('threshold_id', 'threshold_id'),
                ('metric', 'metric'),
                ('comparison', 'comparison'),
                ('threshold', 'threshold'),
                ('severity', 'severity'),
                ('time_window', 'time_window'),
            ])),
            ('subject', 'subject'),
            ('observed_value', 'observed_value'),
            ('sample_size', 'sample_size'),
            ('window_start', 'window_start'),
            ('detected_at', 'detected_at'),
        ]) }} as payload
    from described
)

select * from final
