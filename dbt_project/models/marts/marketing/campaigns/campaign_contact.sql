{{ config(materialized='view') }}
-- Campaign membership (published as marketing.campaign_contact): a contact is a member when
-- its last change in the log is an add; campaign_contact_id is that add's change id (a
-- contact removed and added again is a new membership) and created_at its time. A contact
-- suppressed since (people.suppression_list) is no member, whatever the log says.
with

changes as (
    select
        change_id,
        campaign_id,
        contact_id,
        action,
        changed_at,
        row_number() over (
            partition by campaign_id, contact_id order by change_id desc
        ) as recency
    from {{ ref('stg_campaigns__campaign_changes') }}
),

suppressed as (
    select distinct contact_id
    from {{ ref('suppression_list') }}
    where contact_id is not null
),

final as (
    select
        changes.change_id as campaign_contact_id,
        changes.campaign_id,
        changes.contact_id,
        changes.changed_at as created_at
    from changes
    where
        changes.recency = 1
        and changes.action = 'add'
        and changes.contact_id not in (select suppressed.contact_id from suppressed)
)

select * from final
