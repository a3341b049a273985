{{ config(materialized='view') }}
-- One engagement vocabulary over every source (published as marketing.engagement_events):
-- email events of SendGrid and SES, the message log (sent, replied), Calendly bookings
-- (booked) and hand-offs (handed_off). Contacts matched by normalised email, campaigns by
-- the send's custom arg / tag (campaign_id). Events that match no contact are kept
-- (contact_id null). A view over the raw events: current as soon as an event is committed.
with

email_events as (
    select * from {{ ref('stg_events__email_events') }}
),

mapped as (
    select
        event_key as engagement_event_id,
        email,
        campaign_ref,
        provider as source,  -- noqa: RF04
        provider_event_type,
        occurred_at,
        received_at,
        provider_message_id,
        step_ref,
        variant_ref,
        case
            when provider_event_type in ('processed', 'Send') then 'queued'
            when provider_event_type in ('delivered', 'Delivery') then 'delivered'
            when provider_event_type in ('deferred', 'DeliveryDelay') then 'deferred'
            when provider_event_type in ('bounce', 'Bounce') then 'bounced'
            when provider_event_type in ('dropped', 'Reject', 'Rendering Failure') then 'dropped'
            when provider_event_type in ('open', 'Open') then 'opened'
            when provider_event_type in ('click', 'Click') then 'clicked'
            when provider_event_type in ('spamreport', 'Complaint') then 'complained'
            when provider_event_type in ('unsubscribe', 'group_unsubscribe', 'Subscription')
                then 'unsubscribed'
            when provider_event_type = 'group_resubscribe' then 'resubscribed'
            else 'other'
        end as event_type,
        case
            when provider_event_type = 'Bounce' and bounce_type = 'Permanent' then 'hard'
            when provider_event_type = 'Bounce' then 'soft'
            when provider_event_type = 'bounce' and bounce_type = 'blocked' then 'soft'
            when provider_event_type = 'bounce' then 'hard'
        end as bounce_kind,
        provider_event_type in ('open', 'Open')
        and (provider_machine_open or {{ is_privacy_proxy_agent('user_agent') }}) as is_machine_open
    from email_events
),

message_events as (
    select
        'message:' || cast(message_log_id as {{ dbt.type_string() }}) as engagement_event_id,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_ref,
        'message_log' as source,  -- noqa: RF04
        direction as provider_event_type,
        sent_at as occurred_at,
        sent_at as received_at,
        cast(null as {{ dbt.type_string() }}) as provider_message_id,
        cast(null as {{ dbt.type_string() }}) as step_ref,
        cast(null as {{ dbt.type_string() }}) as variant_ref,
        case direction when 'inbound' then 'replied' else 'sent' end as event_type,
        cast(null as {{ dbt.type_string() }}) as bounce_kind,
        false as is_machine_open,
        contact_id
    from {{ ref('message_log') }}
),

booking_events as (
    select
        'booking:' || cast(booking_event_id as {{ dbt.type_string() }}) as engagement_event_id,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as campaign_ref,
        source,  -- noqa: RF04
        'invitee.created' as provider_event_type,
        created_at as occurred_at,
        created_at as received_at,
        cast(null as {{ dbt.type_string() }}) as provider_message_id,
        cast(null as {{ dbt.type_string() }}) as step_ref,
        cast(null as {{ dbt.type_string() }}) as variant_ref,
        'booked' as event_type,
        cast(null as {{ dbt.type_string() }}) as bounce_kind,
        false as is_machine_open,
        contact_id
    from {{ ref('booking_event') }}
),

handoff_events as (
    select
        'handoff:' || cast(handoff_id as {{ dbt.type_string() }}) as engagement_event_id,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as campaign_ref,
        'handoff' as source,  -- noqa: RF04
        'handoff' as provider_event_type,
        created_at as occurred_at,
        created_at as received_at,
        cast(null as {{ dbt.type_string() }}) as provider_message_id,
        cast(null as {{ dbt.type_string() }}) as step_ref,
        cast(null as {{ dbt.type_string() }}) as variant_ref,
        'handed_off' as event_type,
        cast(null as {{ dbt.type_string() }}) as bounce_kind,
        false as is_machine_open,
        contact_id
    from {{ ref('ac_handoff') }}
),

contacts as (
    select
        contact_id,
        email
    from {{ ref('contact') }}
    where email is not null
),

all_events as (
    select
        mapped.*,
        contacts.contact_id
    from mapped
    left join contacts on mapped.email = contacts.email
    union all
    select * from message_events
    union all
    select * from booking_events
    union all
    select * from handoff_events
),

campaigns as (
    select campaign_id from {{ ref('campaign') }}
),

final as (
    select
        all_events.engagement_event_id,
        all_events.event_type,
        all_events.contact_id,
        campaigns.campaign_id,
        all_events.email,
        all_events.bounce_kind,
        all_events.is_machine_open,
        all_events.source,  -- noqa: RF04
        all_events.provider_event_type,
        all_events.occurred_at,
        all_events.received_at,
        all_events.provider_message_id,
        all_events.step_ref as campaign_step,
        all_events.variant_ref as variant
    from all_events
    left join campaigns
        on all_events.campaign_ref = cast(campaigns.campaign_id as {{ dbt.type_string() }})
)

select * from final
