{{ config(materialized='view') }}
-- Contacts' LinkedIn profiles the Apify refresh has not observed within the last 30 days
-- before as_of (or never). A view over views down to raw_apify: a refresh that observes
-- a profile takes it off the queue at once.
with

contacts as (
    select
        contact_id,
        linkedin_url
    from {{ ref('int_person_records_deduplicated') }}
    where linkedin_url is not null
),

checked as (
    select
        url,
        last_checked_at
    from {{ ref('int_profile_urls_checked') }}
),

due as (
    select
        contacts.contact_id,
        contacts.linkedin_url as url,
        checked.last_checked_at
    from contacts
    left join checked on contacts.linkedin_url = checked.url
    where
        checked.last_checked_at is null
        or checked.last_checked_at
        < {{ dbt.dateadd('day', -1 * var('queue_ttl_days', 30), as_of_date()) }}
),

final as (
    select
        contact_id,
        url,
        last_checked_at
    from due
)

select * from final
