{#-
    Each KPI of kpi_definitions evaluated for each entity of its scope on each of the last
    days of data (int_ads_entity_days): the window, its sums, the value and the status.
    The newest day (date_day = data_as_of) is the current value (marts: kpi_current_values);
    the days before it are the series the Dagster alert step plots against the threshold.
-#}
with

entity_days as (
    select * from {{ ref('int_ads_entity_days') }}
),

kpis as (
    select * from {{ ref('kpi_definitions') }}
),

windowed as (
    select
        kpis.kpi_id,
        kpis.kpi_name,
        kpis.metric,
        kpis.scope,
        entity_days.scope_id,
        entity_days.scope_name,
        entity_days.account_id,
        kpis.kpi_window,
        kpis.target_value,
        kpis.alert_threshold,
        kpis.direction,
        kpis.alerts_enabled,
        entity_days.date_day,
        entity_days.data_as_of,
        entity_days.data_loaded_at,
        case kpis.kpi_window
            when 'latest_day' then entity_days.date_day
            when 'last_7_days' then cast({{ dbt.dateadd('day', -6, 'entity_days.date_day') }} as date)
            when 'month_to_date' then entity_days.month_start
        end as window_start,
        case kpis.kpi_window
            when 'latest_day' then entity_days.impressions
            when 'last_7_days' then entity_days.impressions_last_7_days
            when 'month_to_date' then entity_days.impressions_month_to_date
        end as window_impressions,
        case kpis.kpi_window
            when 'latest_day' then entity_days.clicks
            when 'last_7_days' then entity_days.clicks_last_7_days
            when 'month_to_date' then entity_days.clicks_month_to_date
        end as window_clicks,
        case kpis.kpi_window
            when 'latest_day' then entity_days.spend
            when 'last_7_days' then entity_days.spend_last_7_days
            when 'month_to_date' then entity_days.spend_month_to_date
        end as window_spend,
        case kpis.kpi_window
            when 'latest_day' then entity_days.conversions
            when 'last_7_days' then entity_days.conversions_last_7_days
            when 'month_to_date' then entity_days.conversions_month_to_date
        end as window_conversions
    from kpis
    inner join entity_days
        on
            kpis.scope = entity_days.scope
            and (kpis.applies_to is null or kpis.applies_to = entity_days.scope_id)
),

valued as (
    select
        *,
        {{ ads_metric_value(
            'metric', 'window_impressions', 'window_clicks', 'window_spend', 'window_conversions'
        ) }} as kpi_value
    from windowed
),

final as (
    select
        {{ dbt.concat(['kpi_id', "'|'", 'scope_id']) }} as kpi_value_id,
        kpi_id,
        kpi_name,
        metric,
        scope,
        scope_id,
        scope_name,
        account_id,
        kpi_window,
        target_value,
        alert_threshold,
        direction,
        alerts_enabled,
        date_day,
        window_start,
        data_as_of,
        data_loaded_at,
        window_impressions,
        window_clicks,
        window_spend,
        window_conversions,
        {{ ads_trim_decimal('kpi_value') }} as kpi_value,
        {{ kpi_status('kpi_value', 'target_value', 'alert_threshold', 'direction') }} as kpi_status
    from valued
)

select * from final
