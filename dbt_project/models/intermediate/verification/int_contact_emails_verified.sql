-- One row per contact with an email: the verification of that address, gray when it was
-- never checked (so no contact with an email is ever missing). status_rank orders the
-- statuses best first (green 1, yellow 2, gray 3, red 4) for slot tie-breaks.
with

contacts as (
    select
        contact_id,
        email
    from {{ ref('int_person_records_deduplicated') }}
    where email is not null
),

verified as (
    select * from {{ ref('int_email_addresses_verified') }}
),

joined as (
    select
        contacts.contact_id,
        contacts.email,
        verified.checked_at as email_checked_at,
        verified.email_confidence,
        verified.source_url as email_source_url,
        verified.result as last_result,
        coalesce(verified.email_status, 'gray') as email_status
    from contacts
    left join verified on contacts.email = verified.email
),

final as (
    select
        contact_id,
        email,
        email_status,
        email_checked_at,
        email_confidence,
        email_source_url,
        last_result,
        case email_status
            when 'green' then 1
            when 'yellow' then 2
            when 'gray' then 3
            else 4
        end as status_rank
    from joined
)

select * from final
