with

source as (
    select * from {{ source('campaigns', 'campaigns') }}
),

renamed as (
    select
        cast(campaign_id as {{ dbt.type_bigint() }}) as campaign_id,
        name as campaign_name,
        source as member_source,
        created_at
    from source
)

select * from renamed
