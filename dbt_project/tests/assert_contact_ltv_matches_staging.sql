-- Fan-out guard: marketing.contact_ltv's totals equal independent sums over the sources -
-- closed-won deals and revenue over the staged deals (latest row per deal, matched to a
-- contact), replies over the message log, meetings over booking_event.
with

deals as (
    select
        count(*) as deals_closed,
        coalesce(sum(case when currency = '{{ var("ltv_currency") }}' then amount end), 0) as revenue
    from {{ ref('int_deals_resolved') }}
    where is_won and contact_id is not null
),

replies as (
    select count(*) as replies
    from {{ ref('message_log') }}
    where direction = 'inbound' and contact_id is not null
),

meetings as (
    select count(*) as meetings
    from {{ ref('booking_event') }}
    where contact_id is not null
),

mart as (
    select
        coalesce(sum(deals_closed), 0) as deals_closed,
        coalesce(sum(total_revenue), 0) as revenue,
        coalesce(sum(total_replies), 0) as replies,
        coalesce(sum(meetings_booked), 0) as meetings
    from {{ ref('contact_ltv') }}
)

select
    mart.*,
    deals.deals_closed as staged_deals,
    deals.revenue as staged_revenue
from mart
cross join deals
cross join replies
cross join meetings
where
    mart.deals_closed <> deals.deals_closed
    or mart.revenue <> deals.revenue
    or mart.replies <> replies.replies
    or mart.meetings <> meetings.meetings
