with

source as (
    select * from {{ source('linkedin_ads', 'campaign_analytics') }}
),

renamed as (
    select
        campaign_id,
        account_id,
        date as date_day,
        impressions,
        clicks,
        {{ ads_trim_decimal('cost_in_local_currency') }} as spend,
        external_website_conversions as conversions,
        _pull_id as pull_id,
        _loaded_at as loaded_at
    from source
)

select * from renamed
