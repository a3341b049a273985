{{ config(materialized='view') }}
-- Every message of a campaign (published as marketing.message_log): outbound sends and
-- inbound replies as recorded (raw_campaigns.messages), the contact matched by email when
-- the writer did not name it.
with

messages as (
    select
        message_id,
        campaign_id,
        contact_id,
        email,
        direction,
        channel,
        subject,
        body,
        sent_at
    from {{ ref('stg_campaigns__messages') }}
),

contacts as (
    select
        contact_id,
        email
    from {{ ref('contact') }}
    where email is not null
),

matched as (
    select
        messages.message_id,
        messages.campaign_id,
        messages.direction,
        messages.channel,
        messages.subject,
        messages.body,
        messages.sent_at,
        coalesce(messages.contact_id, contacts.contact_id) as contact_id
    from messages
    left join contacts on messages.email = contacts.email
),

final as (
    select
        message_id as message_log_id,
        campaign_id,
        contact_id,
        direction,
        channel,
        subject,
        body,
        sent_at
    from matched
)

select * from final
