with

analytics as (
    select * from {{ ref('stg_linkedin_ads__campaign_analytics') }}
),

campaigns as (
    select * from {{ ref('stg_linkedin_ads__campaigns') }}
),

accounts as (
    select * from {{ ref('stg_linkedin_ads__accounts') }}
),

-- rows imported from a file may not know their account: the campaign's account then
resolved as (
    select
        analytics.campaign_id,
        analytics.date_day,
        analytics.impressions,
        analytics.clicks,
        analytics.spend,
        analytics.conversions,
        analytics.loaded_at,
        coalesce(analytics.account_id, campaigns.account_id) as account_id
    from analytics
    left join campaigns on analytics.campaign_id = campaigns.campaign_id
),

final as (
    select
        resolved.campaign_id,
        resolved.account_id,
        accounts.currency,
        resolved.date_day,
        resolved.impressions,
        resolved.clicks,
        resolved.spend,
        resolved.conversions,
        resolved.loaded_at,
        coalesce(resolved.account_id, '(unknown)') as account_key
    from resolved
    left join accounts on resolved.account_id = accounts.account_id
)

select * from final
