with

source as (
    select * from {{ source('linkedin_ads', 'accounts') }}
),

renamed as (
    select
        account_id,
        name as account_name,
        status as account_status,
        type as account_type,
        _loaded_at as loaded_at,
        upper(currency) as currency
    from source
)

select * from renamed
