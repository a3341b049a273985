{{ config(meta={'dagster': {'ref': {'name': 'contact_verification'}}}) }}
-- Every contact with an email has a verification row (gray when never checked).
with

contacts as (
    select contact_id
    from {{ ref('contact') }}
    where email is not null
),

verification as (
    select contact_id from {{ ref('contact_verification') }}
),

final as (
    select contacts.contact_id
    from contacts
    left join verification on contacts.contact_id = verification.contact_id
    where verification.contact_id is null
)

select * from final
