-- One row per contact with an email address: the latest MillionVerifier answer for it,
-- mapped to green / yellow / red / gray; gray with no check when it was never verified.
with

verified as (
    select * from {{ ref('int_contact_emails_verified') }}
),

final as (
    select
        contact_id,
        email_status,
        email_checked_at,
        email_confidence,
        email_source_url
    from verified
)

select * from final
