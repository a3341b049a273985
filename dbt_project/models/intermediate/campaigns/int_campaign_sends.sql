-- depends_on: {{ ref('stg_events__email_events') }}
{{
    config(
        materialized='incremental',
        unique_key='send_key',
        incremental_strategy='merge',
        pre_hook="{{ bulk_model_settings() }}",
        indexes=[
            {'columns': ['send_key'], 'unique': True},
            {'columns': ['last_received_at']},
        ],
    )
}}

{#-
    One row per campaign email send (a provider message to one recipient), with what became
    of it: delivered, bounced, opened by a person, clicked, unsubscribed, complained. Built
    from marketing.engagement_events (the one vocabulary of issue 19), campaign-tagged email
    events only. Incremental: a build recomputes only the sends with an event received
    after the newest one already here, less var('engagement_lookback') for transactions
    that committed late; every event of such a send is re-read, so the merge equals a full
    refresh (tests/test_campaign_analytics.py checks it).
-#}

with

events as (
    select
        engagement_event_id,
        event_type,
        bounce_kind,
        is_machine_open,
        contact_id,
        campaign_id,
        email,
        source,
        occurred_at,
        received_at,
        campaign_step,
        variant,
        provider_message_id,
        {{ dbt.concat([
            'source', "'|'",
            "coalesce(provider_message_id, 'campaign:' || cast(campaign_id as " ~ dbt.type_string() ~ "))",
            "'|'", "coalesce(email, '')",
        ]) }} as send_ref
    from {{ ref('engagement_events') }}
    where campaign_id is not null and source in ('sendgrid', 'ses')
),

{% if is_incremental() %}
    -- every event of the messages with an event received since the last build: the
    -- messages by the raw table's index on received_at, their events by its index on
    -- message_id. in_subquery, not `in (select ...)`: a semi-join is not pushed through the
    -- view's union and joins, a constant array is (benchmarks/bench_campaign_analytics.py)
    {%- set touched -%}
        select distinct touched.provider_message_id
        from {{ ref('stg_events__email_events') }} as touched
        where touched.received_at > (
            select {{ minus_duration('max(last_received_at)', "'" ~ var('engagement_lookback') ~ "'") }}
            from {{ this }}
        )
    {%- endset %}
    scoped as (
        select events.*
        from events
        where {{ in_subquery('events.provider_message_id', touched) }}
    ),
{% else %}
    scoped as (
        select * from events
    ),
{% endif %}

sends as (
    select
        send_ref,
        min(campaign_id) as campaign_id,
        max(contact_id) as contact_id,
        min(email) as email,
        coalesce(max(campaign_step), '1') as campaign_step,
        coalesce(max(variant), 'default') as variant,
        min(occurred_at) as sent_at,
        max(case when event_type = 'delivered' then 1 else 0 end) as is_delivered,
        max(case when event_type = 'bounced' and bounce_kind = 'hard' then 1 else 0 end) as is_hard_bounced,
        max(case when event_type = 'bounced' and bounce_kind = 'soft' then 1 else 0 end) as is_soft_bounced,
        max(case when event_type = 'opened' and not is_machine_open then 1 else 0 end) as is_human_opened,
        max(case when event_type = 'opened' and is_machine_open then 1 else 0 end) as is_machine_opened,
        max(case when event_type = 'clicked' then 1 else 0 end) as is_clicked,
        max(case when event_type = 'unsubscribed' then 1 else 0 end) as is_unsubscribed,
        max(case when event_type = 'complained' then 1 else 0 end) as is_complained,
        min(case when event_type = 'opened' and not is_machine_open then occurred_at end) as first_human_open_at,
        count(*) as events,
        max(received_at) as last_received_at
    from scoped
    group by send_ref
),

final as (
    select
        cast({{ dbt.hash('send_ref') }} as {{ dbt.type_string() }}) as send_key,
        send_ref,
        campaign_id,
        contact_id,
        email,
        campaign_step,
        variant,
        sent_at,
        is_delivered,
        is_hard_bounced,
        is_soft_bounced,
        is_human_opened,
        is_machine_opened,
        is_clicked,
        is_unsubscribed,
        is_complained,
        first_human_open_at,
        events,
        last_received_at
    from sends
)

select * from final
