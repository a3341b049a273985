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

pull_days as (
    select * from {{ ref('int_ads_pull_days') }}
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
        analytics.pull_id,
        coalesce(analytics.account_id, campaigns.account_id) as account_id
    from analytics
    left join campaigns on analytics.campaign_id = campaigns.campaign_id
),

-- a day LinkedIn left out of a newer answer for the account's window: zero activity
-- (LinkedIn omits days without activity), as of that newer pull
checked as (
    select
        resolved.*,
        pull_days.latest_pull_loaded_at,
        coalesce(
            pull_days.latest_pull_loaded_at > resolved.loaded_at
            and pull_days.latest_pull_id != resolved.pull_id,
            false
        ) as is_vanished
    from resolved
    left join pull_days
        on
            resolved.account_id = pull_days.account_id
            and resolved.date_day = pull_days.date_day
),

final as (
    select
        checked.campaign_id,
        checked.account_id,
        accounts.currency,
        checked.date_day,
        case when checked.is_vanished then 0 else checked.impressions end as impressions,
        case when checked.is_vanished then 0 else checked.clicks end as clicks,
        case when checked.is_vanished then 0 else checked.spend end as spend,
        case when checked.is_vanished then 0 else checked.conversions end as conversions,
        case
            when checked.is_vanished then checked.latest_pull_loaded_at else checked.loaded_at
        end as loaded_at,
        coalesce(checked.account_id, '(unknown)') as account_key
    from checked
    left join accounts on checked.account_id = accounts.account_id
)

select * from final
