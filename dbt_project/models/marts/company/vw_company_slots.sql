{{ config(materialized='view') }}
-- The three slots of every company with the contact holding each (if any) and the
-- verification status of that contact's email.
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

contacts as (
    select
        contact_id,
        full_name,
        email
    from {{ ref('contact') }}
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
    left join verification on slots.contact_id = verification.contact_id
)

select * from final
