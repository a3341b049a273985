{{
    config(
        materialized='incremental',
        unique_key=['campaign_id', 'date_day'],
        incremental_strategy='delete+insert',
        on_schema_change='fail',
    )
}}
{#-
    Incremental on the raw load time: a run takes the campaign-days loaded (new, restated
    or zeroed) since the newest loaded_at already here, minus a lookback of an hour for
    loads that committed out of order, and replaces those keys (all of them while the
    table is still empty).
-#}

with

campaign_days as (
    select * from {{ ref('int_ads_campaign_days_joined') }}
    {%- if is_incremental() %}
    where loaded_at > coalesce(
        (
            select {{ dbt.dateadd('hour', -1, 'max(this.loaded_at)') }}
            from {{ this }} as this
        ),
        cast('1900-01-01 00:00:00+00' as {{ type_timestamptz() }})
    )
    {%- endif %}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by campaign_id, date_day order by loaded_at desc
        ) as row_in_key
    from campaign_days
),

final as (
    select
        cast(date_day as date) as date_day,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(currency as {{ dbt.type_string() }}) as currency,
        cast(impressions as {{ dbt.type_bigint() }}) as impressions,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks,
        spend,
        cast(conversions as {{ dbt.type_bigint() }}) as conversions,
        {{ ads_trim_decimal(ads_ratio('clicks', 'impressions')) }} as ctr,
        {{ ads_trim_decimal(ads_ratio('spend', 'clicks', integer_numerator=false)) }} as cpc,
        {{ ads_trim_decimal(ads_ratio('spend', 'impressions', 1000, integer_numerator=false)) }} as cpm,
        {{ ads_trim_decimal(ads_ratio('conversions', 'clicks')) }} as conversion_rate,
        loaded_at
    from deduplicated
    where row_in_key = 1
)

select * from final
