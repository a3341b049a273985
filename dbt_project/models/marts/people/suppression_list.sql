{{ config(materialized='view') }}
-- Suppressed addresses and the contacts they match (published as people.suppression_list):
-- the raw suppression list (outreach suppress, bounces, complaints, unsubscribes) and the
-- GDPR tombstones of erased emails. A view over append-only raw tables: a suppression
-- applies at once, before any build, and no rebuild or full refresh can lose it.
with

suppressions as (
    select
        email_sha256,
        email,
        contact_id,
        reason,
        suppression_source as source,  -- noqa: RF04
        suppressed_at
    from {{ ref('stg_campaigns__suppressions') }}
),

erasures as (
    select
        value_sha256 as email_sha256,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_bigint() }}) as contact_id,
        'gdpr' as reason,
        'gdpr_erase' as source,  -- noqa: RF04
        erased_at as suppressed_at
    from {{ ref('stg_ops__gdpr_tombstones') }}
    where identifier_kind = 'email'
),

all_suppressions as (
    select * from suppressions
    union all
    select * from erasures
),

contacts as (
    select
        contact_id,
        {{ sha256_hex(normalize_email('email')) }} as email_sha256
    from {{ ref('contact') }}
    where email is not null
),

matched as (
    select
        all_suppressions.email,
        all_suppressions.reason,
        all_suppressions.source,
        all_suppressions.suppressed_at,
        coalesce(contacts.contact_id, all_suppressions.contact_id) as contact_id
    from all_suppressions
    left join contacts on all_suppressions.email_sha256 = contacts.email_sha256
),

final as (
    select
        contact_id,
        email,
        reason,
        source,
        suppressed_at
    from matched
)

select * from final
