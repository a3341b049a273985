{{ config(materialized='view') }}
-- Companies whose renewal window is open on as_of (window start through renewal day),
-- with whether one of their slot contacts (CEO, CFO, HR) has a green (verified) email and
-- is not suppressed (people.suppression_list): those are ready for the renewal campaign.
with

renewals as (
    select
        company_id,
        company_name,
        next_renewal_date,
        campaign_window_start
    from {{ ref('int_company_renewals') }}
    where is_window_open
),

suppressed as (
    select distinct contact_id
    from {{ ref('suppression_list') }}
    where contact_id is not null
),

green_slots as (
    select distinct slots.company_id
    from {{ ref('company_slot') }} as slots
    inner join {{ ref('contact_verification') }} as verification
        on slots.contact_id = verification.contact_id
    where
        verification.email_status = 'green'
        and slots.contact_id not in (select suppressed.contact_id from suppressed)
),

readiness as (
    select
        renewals.company_id,
        renewals.company_name,
        renewals.next_renewal_date,
        renewals.campaign_window_start,
        green_slots.company_id is not null as has_green_contact
    from renewals
    left join green_slots on renewals.company_id = green_slots.company_id
),

-- the published column order (campaign_window_start came last)
final as (
    select
        company_id,
        company_name,
        next_renewal_date,
        has_green_contact,
        campaign_window_start
    from readiness
)

select * from final
