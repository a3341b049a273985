with

source as (
    select * from {{ source('campaigns', 'campaign_changes') }}
),

renamed as (
    select
        cast(change_id as {{ dbt.type_bigint() }}) as change_id,
        cast(campaign_id as {{ dbt.type_bigint() }}) as campaign_id,
        cast(contact_id as {{ dbt.type_bigint() }}) as contact_id,
        action,
        source as change_source,
        changed_at
    from source
)

select * from renamed
