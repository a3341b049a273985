with

source as (
    select * from {{ source('campaigns', 'suppressions') }}
),

renamed as (
    select
        cast(suppression_id as {{ dbt.type_bigint() }}) as suppression_id,
        email_sha256,
        email,
        cast(contact_id as {{ dbt.type_bigint() }}) as contact_id,
        reason,
        source as suppression_source,
        suppressed_at
    from source
)

select * from renamed
