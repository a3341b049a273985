{{ config(materialized='view') }}
-- The three slots of every company with the contact holding each (if any) and the
-- verification status of that contact's email. A suppressed contact (people.suppression_list)
-- is not offered for outreach: its slot reads as empty.
with

slots as (
    select
        company_id,
        role_code,
        contact_id
    from {{ ref('company_slot') }}
),

companies as (
    select
        company_id,
        company_name
    from {{ ref('company') }}
),

suppressed as (
    select distinct contact_id
    from {{ ref('suppression_list') }}
    where contact_id is not null
),

contacts as (
    select
        contact_id,
        full_name,
        email
    from {{ ref('contact') }}
    where contact_id not in (select suppressed.contact_id from suppressed)
),

verification as (
    select
        contact_id,
        email_status
    from {{ ref('contact_verification') }}
),

final as (
    select
        slots.company_id,
        companies.company_name,
        slots.role_code,
        contacts.full_name,
        contacts.email,
        verification.email_status
    from slots
    inner join companies on slots.company_id = companies.company_id
    left join contacts on slots.contact_id = contacts.contact_id
    left join verification on contacts.contact_id = verification.contact_id
)

select * from final
