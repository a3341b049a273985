with

source as (
    select * from {{ source('campaigns', 'handoffs') }}
),

renamed as (
    select
        cast(handoff_id as {{ dbt.type_bigint() }}) as handoff_id,
        cast(company_id as {{ dbt.type_bigint() }}) as company_id,
        cast(contact_id as {{ dbt.type_bigint() }}) as contact_id,
        notes,
        source as handoff_source,
        created_at
    from source
)

select * from renamed
