{{ config(materialized='view') }}

-- The delivery state of every outbox row (a view: always as of the last attempt). An outbox
-- added to exports/ (exports/ple.py, exports/alerts.py ALERT_OUTBOXES) adds one entry here:
-- (target, model, id column). Rules: _marketing__outbox.yml.
{%- set outboxes = [
    ('ple', 'ple_enqueue_outbox', 'outbox_id'),
    ('alerts', 'kpi_alert_notifications', 'notification_id'),
    ('alerts', 'ops_alert_notifications', 'notification_id'),
] %}
with

outbox_rows as (
    {% for target, model, id_column in outboxes -%}
        {% if not loop.first %}union all{% endif %}
        select
            cast('{{ target }}' as {{ dbt.type_string() }}) as target,  -- noqa: RF04
            cast('marketing.{{ model }}' as {{ dbt.type_string() }}) as outbox_relation,
            cast({{ id_column }} as {{ dbt.type_string() }}) as outbox_id,
            created_at
        from {{ ref(model) }}
    {% endfor %}
),

attempts as (
    select
        delivery_id,
        target,
        outbox_id,
        status,
        http_status,
        error,
        attempted_at,
        finished_at
    from {{ ref('stg_ops__deliveries') }}
),

attempt_summary as (
    select
        target,
        outbox_id,
        count(*) as attempts,
        sum(case when status = 'failed' then 1 else 0 end) as failed_attempts,
        min(attempted_at) as first_attempt_at,
        max(attempted_at) as last_attempt_at,
        min(case when status = 'delivered' then finished_at end) as delivered_at,
        max(delivery_id) as last_delivery_id
    from attempts
    group by target, outbox_id
),

last_attempts as (
    select
        attempt_summary.target,
        attempt_summary.outbox_id,
        attempt_summary.attempts,
        attempt_summary.failed_attempts,
        attempt_summary.first_attempt_at,
        attempt_summary.last_attempt_at,
        attempt_summary.delivered_at,
        attempts.status as last_status,
        attempts.http_status as last_http_status,
        attempts.error as last_error
    from attempt_summary
    inner join attempts on attempt_summary.last_delivery_id = attempts.delivery_id
),

dead_letter_events as (
    select
        event_id,
        target,
        outbox_id,
        action,
        recorded_at
    from {{ ref('stg_ops__delivery_dead_letters') }}
),

latest_dead_letter_events as (
    select
        target,
        outbox_id,
        max(event_id) as event_id
    from dead_letter_events
    group by target, outbox_id
),

dead_letters as (
    select
        dead_letter_events.target,
        dead_letter_events.outbox_id,
        dead_letter_events.action,
        dead_letter_events.recorded_at
    from dead_letter_events
    inner join latest_dead_letter_events
        on dead_letter_events.event_id = latest_dead_letter_events.event_id
),

final as (
    select
        {{ dbt.concat(['outbox_rows.target', "':'", 'outbox_rows.outbox_id']) }} as outbox_row_key,
        outbox_rows.target,
        outbox_rows.outbox_relation,
        outbox_rows.outbox_id,
        outbox_rows.created_at,
        case
            when last_attempts.delivered_at is not null then 'delivered'
            when dead_letters.action = 'dead_letter' then 'dead_letter'
            when last_attempts.last_status = 'failed' then 'failed'
            else 'pending'
        end as state,
        coalesce(last_attempts.attempts, 0) as attempts,
        coalesce(last_attempts.failed_attempts, 0) as failed_attempts,
        last_attempts.last_http_status,
        last_attempts.last_error,
        last_attempts.first_attempt_at,
        last_attempts.last_attempt_at,
        last_attempts.delivered_at,
        case when dead_letters.action = 'dead_letter' then dead_letters.recorded_at end as dead_lettered_at
    from outbox_rows
    left join last_attempts
        on
            outbox_rows.target = last_attempts.target
            and outbox_rows.outbox_id = last_attempts.outbox_id
    left join dead_letters
        on
            outbox_rows.target = dead_letters.target
            and outbox_rows.outbox_id = dead_letters.outbox_id
)

select * from final
