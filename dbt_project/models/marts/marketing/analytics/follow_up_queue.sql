{{ config(materialized='view') }}

{#-
    Contacts due a follow-up (published as marketing.follow_up_queue): current members of a
    campaign (marketing.campaign_contact) whose latest send in it is at least
    var('follow_up_after_days') days before as_of, who have not replied in the campaign,
    whose latest step is below var('campaign_step_limit'), who are not suppressed
    (campaign_contact drops them) and whose latest send neither hard-bounced nor drew an
    unsubscribe or complaint. A view: a reply, a removal or a suppression takes the contact
    off at once; sends appear after int_campaign_sends is built.
-#}

with

sends as (
    select * from {{ ref('int_campaign_sends_attributed') }}
    where contact_id is not null
),

latest as (
    select
        *,
        row_number() over (
            partition by campaign_id, contact_id order by sent_at desc, send_key asc
        ) as recency,
        max(is_replied) over (partition by campaign_id, contact_id) as has_replied
    from sends
),

-- current members; marketing.campaign_contact already leaves suppressed contacts out
members as (
    select
        campaign_id,
        contact_id
    from {{ ref('campaign_contact') }}
),

final as (
    select
        latest.campaign_id,
        latest.contact_id,
        latest.email,
        latest.campaign_step as last_step,
        latest.variant as last_variant,
        latest.sent_at as last_sent_at,
        cast(latest.campaign_step as {{ dbt.type_int() }}) + 1 as next_step,
        {{ dbt.dateadd('day', var('follow_up_after_days'), 'latest.sent_at') }} as due_at
    from latest
    inner join members
        on latest.campaign_id = members.campaign_id and latest.contact_id = members.contact_id
    where
        latest.recency = 1
        and latest.has_replied = 0
        and latest.is_hard_bounced = 0
        and latest.is_unsubscribed = 0
        and latest.is_complained = 0
        and cast(latest.campaign_step as {{ dbt.type_int() }}) < {{ var('campaign_step_limit') }}
        and {{ dbt.dateadd('day', var('follow_up_after_days'), 'latest.sent_at') }} <= {{ as_of_timestamp() }}
)

select * from final
