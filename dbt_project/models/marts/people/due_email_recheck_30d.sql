{{ config(materialized='view') }}
-- Contacts whose email was never verified or not within the last 30 days before as_of.
-- A view over views down to raw_verifier: a load that checks an address takes it off the
-- queue at once, without a rebuild.
with

contacts as (
    select
        contact_id,
        full_name
    from {{ ref('int_person_records_deduplicated') }}
),

verified as (
    select
        contact_id,
        email,
        email_status,
        email_checked_at
    from {{ ref('int_contact_emails_verified') }}
),

due as (
    select
        verified.contact_id,
        contacts.full_name,
        verified.email,
        verified.email_status,
        verified.email_checked_at as last_checked_at
    from verified
    inner join contacts on verified.contact_id = contacts.contact_id
    where
        verified.email_checked_at is null
        or verified.email_checked_at
        < {{ dbt.dateadd('day', -1 * var('queue_ttl_days', 30), as_of_date()) }}
),

final as (
    select
        contact_id,
        full_name,
        email,
        email_status,
        last_checked_at
    from due
)

select * from final
