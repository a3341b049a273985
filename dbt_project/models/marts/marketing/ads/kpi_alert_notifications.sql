{#-
    The alert outbox: one notification per alert episode opened, with a stable id (the
    Idempotency-Key of its delivery) and the JSON body the alert step POSTs to
    ALERT_WEBHOOK_URL (exports/alerts.py, delivery log raw_ops.deliveries). Rows are
    never updated in a way that changes their id or body: the body only carries what was
    known when the episode opened.
-#}
with

alerts as (
    select * from {{ ref('kpi_alerts') }}
),

described as (
    select
        *,
        {{ dbt.concat(["'kpi_alert_opened:'", 'alert_id']) }} as notification_id,
        {{ dbt.concat([
            'kpi_name', "' for '", 'scope', "' '", 'scope_name', "': '",
            ads_format_metric('metric', 'opened_value'),
            "case direction when 'below' then ' is below ' else ' is above ' end",
            "'the alert threshold '",
            ads_format_metric('metric', 'alert_threshold'),
            "' (target '",
            ads_format_metric('metric', 'target_value'),
            "'), data of '",
            "cast(opened_data_as_of as " ~ dbt.type_string() ~ ")",
        ]) }} as message
    from alerts
),

final as (
    select
        cast(notification_id as {{ dbt.type_string() }}) as notification_id,
        alert_id,
        cast('kpi_alert_opened' as {{ dbt.type_string() }}) as event_type,
        kpi_id,
        scope,
        scope_id,
        opened_at as created_at,
        {{ build_json_object([
            ('notification_id', 'notification_id'),
            ('event_type', "'kpi_alert_opened'"),
            ('alert_id', 'alert_id'),
            ('message', 'message'),
            ('kpi', build_json_object([
                ('kpi_id', 'kpi_id'),
                ('name', 'kpi_name'),
                ('metric', 'metric'),
                ('window', 'kpi_window'),
                ('direction', 'direction'),
                ('alert_threshold', ads_trim_decimal('alert_threshold')),
                ('target_value', ads_trim_decimal('target_value')),
            ])),
            ('scope', build_json_object([
                ('type', 'scope'),
                ('id', 'scope_id'),
                ('name', 'scope_name'),
                ('account_id', 'account_id'),
            ])),
            ('value', 'opened_value'),
            ('data_as_of', 'opened_data_as_of'),
            ('opened_at', 'opened_at'),
        ]) }} as payload
    from described
)

select * from final
