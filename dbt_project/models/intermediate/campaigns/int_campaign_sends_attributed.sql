{#-
    int_campaign_sends with the outcomes that are not email events, each attributed to one
    send: a reply (marketing.message_log inbound, same campaign and contact) to the latest
    send of that campaign to the contact at or before it; a meeting (marketing.booking_event)
    and a hand-off (marketing.ac_handoff) to the contact's latest campaign send at or before
    it, whichever campaign. A send counts each outcome once (is_replied 0/1), however many
    replies or bookings it drew. Outcomes with no earlier send are not campaign outcomes.
-#}

with

sends as (
    select * from {{ ref('int_campaign_sends') }}
),

replies as (
    select
        message_log_id as outcome_id,
        campaign_id,
        contact_id,
        sent_at as outcome_at
    from {{ ref('message_log') }}
    where direction = 'inbound' and contact_id is not null and campaign_id is not null
),

-- bookings and hand-offs: last touch, whichever campaign
touches as (
    select
        'booked' as outcome,
        booking_event_id as outcome_id,
        contact_id,
        created_at as outcome_at
    from {{ ref('booking_event') }}
    where contact_id is not null
    union all
    select
        'handed_off' as outcome,
        handoff_id as outcome_id,
        contact_id,
        created_at as outcome_at
    from {{ ref('ac_handoff') }}
    where contact_id is not null
),

reply_candidates as (
    select
        'replied' as outcome,
        replies.outcome_id,
        sends.send_key,
        row_number() over (
            partition by replies.outcome_id order by sends.sent_at desc, sends.send_key asc
        ) as recency
    from replies
    inner join sends
        on
            replies.campaign_id = sends.campaign_id
            and replies.contact_id = sends.contact_id
            and replies.outcome_at >= sends.sent_at
),

touch_candidates as (
    select
        touches.outcome,
        touches.outcome_id,
        sends.send_key,
        row_number() over (
            partition by touches.outcome, touches.outcome_id
            order by sends.sent_at desc, sends.send_key asc
        ) as recency
    from touches
    inner join sends
        on
            touches.contact_id = sends.contact_id
            and touches.outcome_at >= sends.sent_at
),

attributed as (
    select
        send_key,
        outcome
    from reply_candidates
    where recency = 1
    union all
    select
        send_key,
        outcome
    from touch_candidates
    where recency = 1
),

outcomes as (
    select
        send_key,
        max(case when outcome = 'replied' then 1 else 0 end) as is_replied,
        max(case when outcome = 'booked' then 1 else 0 end) as is_booked,
        max(case when outcome = 'handed_off' then 1 else 0 end) as is_handed_off
    from attributed
    group by send_key
),

final as (
    select
        sends.send_key,
        sends.campaign_id,
        sends.contact_id,
        sends.email,
        sends.campaign_step,
        sends.variant,
        sends.sent_at,
        sends.is_delivered,
        sends.is_hard_bounced,
        sends.is_soft_bounced,
        sends.is_human_opened,
        sends.is_machine_opened,
        sends.is_clicked,
        sends.is_unsubscribed,
        sends.is_complained,
        coalesce(outcomes.is_replied, 0) as is_replied,
        coalesce(outcomes.is_booked, 0) as is_booked,
        coalesce(outcomes.is_handed_off, 0) as is_handed_off
    from sends
    left join outcomes on sends.send_key = outcomes.send_key
)

select * from final
