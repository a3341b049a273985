{#-
    Every KPI scope entity (each campaign, each ad account) with one row per day over the
    last {{ var('ads_kpi_history_days', 30) }} days of its account's data, and the sums
    of impressions, clicks, spend and conversions over each KPI window ending that day.
    Days without a LinkedIn row count as zero (LinkedIn leaves out days without activity),
    so the series is dense and the windows are plain window functions.
-#}
{%- set history_days = var('ads_kpi_history_days', 30) -%}
{#- days before the first evaluated day that its windows reach back to: a month and 7 days -#}
{%- set spine_days = history_days + 36 -%}

with

campaign_days as (
    select * from {{ ref('int_ads_campaign_days_joined') }}
),

campaigns as (
    select * from {{ ref('stg_linkedin_ads__campaigns') }}
),

accounts as (
    select * from {{ ref('stg_linkedin_ads__accounts') }}
),

-- "now" for an account's KPIs: its newest day of data
account_dates as (
    select
        account_key,
        max(date_day) as data_as_of,
        max(loaded_at) as data_loaded_at
    from campaign_days
    group by account_key
),

recent_campaigns as (
    select distinct
        campaign_days.campaign_id,
        campaign_days.account_key
    from campaign_days
    inner join account_dates on campaign_days.account_key = account_dates.account_key
    where campaign_days.date_day > {{ dbt.dateadd('day', -spine_days, 'account_dates.data_as_of') }}
),

active_campaigns as (
    select
        campaigns.campaign_id,
        coalesce(campaigns.account_id, '(unknown)') as account_key
    from campaigns
    where campaigns.campaign_status = 'ACTIVE'
),

campaign_entities as (
    select
        campaign_id,
        account_key
    from recent_campaigns
    union
    select
        active_campaigns.campaign_id,
        active_campaigns.account_key
    from active_campaigns
    inner join account_dates on active_campaigns.account_key = account_dates.account_key
),

entities as (
    select
        'campaign' as scope,
        campaign_entities.campaign_id as scope_id,
        coalesce(campaigns.campaign_name, campaign_entities.campaign_id) as scope_name,
        campaign_entities.account_key
    from campaign_entities
    left join campaigns on campaign_entities.campaign_id = campaigns.campaign_id
    union all
    select
        'account' as scope,
        account_dates.account_key as scope_id,
        coalesce(accounts.account_name, account_dates.account_key) as scope_name,
        account_dates.account_key
    from account_dates
    left join accounts on account_dates.account_key = accounts.account_id
),

day_offsets as (
    select spine_offsets.day_offset
    from ({{ ads_day_offsets(2) }}) as spine_offsets
    where spine_offsets.day_offset < {{ spine_days }}
),

spine as (
    select
        entities.scope,
        entities.scope_id,
        entities.scope_name,
        entities.account_key,
        account_dates.data_as_of,
        account_dates.data_loaded_at,
        cast({{ dbt.dateadd('day', '-1 * day_offsets.day_offset', 'account_dates.data_as_of') }} as date)
            as date_day
    from entities
    inner join account_dates on entities.account_key = account_dates.account_key
    cross join day_offsets
),

account_day_totals as (
    select
        account_key,
        date_day,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(spend) as spend,
        sum(conversions) as conversions
    from campaign_days
    group by account_key, date_day
),

daily as (
    select
        spine.scope,
        spine.scope_id,
        spine.scope_name,
        spine.account_key,
        spine.data_as_of,
        spine.data_loaded_at,
        spine.date_day,
        cast({{ dbt.date_trunc('month', 'spine.date_day') }} as date) as month_start,
        coalesce(campaign_days.impressions, account_day_totals.impressions, 0) as impressions,
        coalesce(campaign_days.clicks, account_day_totals.clicks, 0) as clicks,
        coalesce(campaign_days.spend, account_day_totals.spend, 0) as spend,
        coalesce(campaign_days.conversions, account_day_totals.conversions, 0) as conversions
    from spine
    left join campaign_days
        on
            spine.scope = 'campaign'
            and spine.scope_id = campaign_days.campaign_id
            and spine.date_day = campaign_days.date_day
    left join account_day_totals
        on
            spine.scope = 'account'
            and spine.scope_id = account_day_totals.account_key
            and spine.date_day = account_day_totals.date_day
),

windowed as (
    select
        *,
        sum(impressions) over (
            partition by scope, scope_id order by date_day rows between 6 preceding and current row
        ) as impressions_last_7_days,
        sum(impressions) over (
            partition by scope, scope_id, month_start order by date_day
            rows between unbounded preceding and current row
        ) as impressions_month_to_date,
        sum(clicks) over (
            partition by scope, scope_id order by date_day rows between 6 preceding and current row
        ) as clicks_last_7_days,
        sum(clicks) over (
            partition by scope, scope_id, month_start order by date_day
            rows between unbounded preceding and current row
        ) as clicks_month_to_date,
        sum(spend) over (
            partition by scope, scope_id order by date_day rows between 6 preceding and current row
        ) as spend_last_7_days,
        sum(spend) over (
            partition by scope, scope_id, month_start order by date_day
            rows between unbounded preceding and current row
        ) as spend_month_to_date,
        sum(conversions) over (
            partition by scope, scope_id order by date_day rows between 6 preceding and current row
        ) as conversions_last_7_days,
        sum(conversions) over (
            partition by scope, scope_id, month_start order by date_day
            rows between unbounded preceding and current row
        ) as conversions_month_to_date
    from daily
),

final as (
    select
        scope,
        scope_id,
        scope_name,
        data_as_of,
        data_loaded_at,
        date_day,
        month_start,
        impressions,
        clicks,
        spend,
        conversions,
        impressions_last_7_days,
        clicks_last_7_days,
        spend_last_7_days,
        conversions_last_7_days,
        impressions_month_to_date,
        clicks_month_to_date,
        spend_month_to_date,
        conversions_month_to_date,
        nullif(account_key, '(unknown)') as account_id
    from windowed
    where date_day > {{ dbt.dateadd('day', -history_days, 'data_as_of') }}
)

select * from final
