with

people as (
    select * from {{ ref('int_person_records_deduplicated') }}
),

-- last Apify observation of the person's profile (raw_apify refresh history)
profile_checks as (
    select
        url,
        last_checked_at
    from {{ ref('int_profile_urls_checked') }}
),

final as (
    select
        people.contact_id,
        people.full_name,
        people.title,
        people.email,
        people.phone,
        people.linkedin_url as profile_source_url,
        profile_checks.last_checked_at as last_profile_checked_at,
        people.created_at,
        people.updated_at
    from people
    left join profile_checks on people.linkedin_url = profile_checks.url
)

select * from final
