{{ config(indexes=[{'columns': ['contact_id'], 'unique': True}]) }}

{#-
    Lifetime value per contact (published as marketing.contact_ltv), one row per contact of
    people.contact. Each measure is counted in its own grouped CTE keyed by contact_id and
    joined 1:1, so no join can fan the totals out (tests: mart totals equal staging sums).
    Emails sent: distinct provider messages (SendGrid / SES events) plus outbound email
    messages in the message log. Replies: inbound messages. Meetings: bookings still
    standing. Deals: closed-won deals of the deals intake (int_deals_resolved); revenue sums
    those in var('ltv_currency') (no exchange rates here), the rest are counted in
    deals_closed and other_currency_deals. last_contact_at: the latest send, message in
    either direction, booking made or hand-off.
-#}

with

contacts as (
    select contact_id
    from {{ ref('contact') }}
),

provider_sends as (
    select
        contact_id,
        {{ dbt.concat(['source', "'|'", 'provider_message_id']) }} as send_ref,
        min(occurred_at) as sent_at
    from {{ ref('engagement_events') }}
    where
        contact_id is not null
        and source in ('sendgrid', 'ses')
        and provider_message_id is not null
    group by contact_id, {{ dbt.concat(['source', "'|'", 'provider_message_id']) }}
),

messages as (
    select
        contact_id,
        direction,
        channel,
        sent_at
    from {{ ref('message_log') }}
    where contact_id is not null
),

sends as (
    select
        contact_id,
        count(*) as emails_sent
    from (
        select contact_id from provider_sends
        union all
        select contact_id from messages
        where direction = 'outbound' and channel = 'email'
    ) as all_sends
    group by contact_id
),

replies as (
    select
        contact_id,
        count(*) as replies
    from messages
    where direction = 'inbound'
    group by contact_id
),

meetings as (
    select
        contact_id,
        count(*) as meetings
    from {{ ref('booking_event') }}
    where contact_id is not null
    group by contact_id
),

deals as (
    select
        contact_id,
        count(*) as deals_closed,
        sum(case when currency = '{{ var("ltv_currency") }}' then amount end) as revenue,
        sum(case when amount is not null and currency <> '{{ var("ltv_currency") }}' then 1 else 0 end)
            as other_currency_deals,
        max(closed_at) as last_deal_closed_at
    from {{ ref('int_deals_resolved') }}
    where contact_id is not null and is_won
    group by contact_id
),

touches as (
    select
        contact_id,
        max(touched_at) as last_contact_at
    from (
        select
            contact_id,
            sent_at as touched_at
        from provider_sends
        union all
        select
            contact_id,
            sent_at as touched_at
        from messages
        union all
        select
            contact_id,
            created_at as touched_at
        from {{ ref('booking_event') }}
        union all
        select
            contact_id,
            created_at as touched_at
        from {{ ref('ac_handoff') }}
    ) as all_touches
    where contact_id is not null
    group by contact_id
),

final as (
    select
        contacts.contact_id,
        cast(coalesce(sends.emails_sent, 0) as {{ dbt.type_bigint() }}) as total_emails_sent,
        cast(coalesce(replies.replies, 0) as {{ dbt.type_bigint() }}) as total_replies,
        cast(coalesce(meetings.meetings, 0) as {{ dbt.type_bigint() }}) as meetings_booked,
        cast(coalesce(deals.deals_closed, 0) as {{ dbt.type_bigint() }}) as deals_closed,
        cast(coalesce(deals.revenue, 0) as {{ dbt.type_numeric() }}) as total_revenue,
        '{{ var("ltv_currency") }}' as revenue_currency,
        cast(coalesce(deals.other_currency_deals, 0) as {{ dbt.type_bigint() }}) as other_currency_deals,
        deals.last_deal_closed_at,
        touches.last_contact_at
    from contacts
    left join sends on contacts.contact_id = sends.contact_id
    left join replies on contacts.contact_id = replies.contact_id
    left join meetings on contacts.contact_id = meetings.contact_id
    left join deals on contacts.contact_id = deals.contact_id
    left join touches on contacts.contact_id = touches.contact_id
)

select * from final
