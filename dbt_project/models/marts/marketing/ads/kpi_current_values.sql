{#-
    Recomputed from the latest data on every build (never a value stored when the KPI was
    created): the value of each KPI for each entity of its scope over the window ending at
    the newest day of data of the entity's account.
-#}
with

kpi_days as (
    select * from {{ ref('int_ads_kpi_values_daily') }}
),

final as (
    select
        cast(kpi_value_id as {{ dbt.type_string() }}) as kpi_value_id,
        cast(kpi_id as {{ dbt.type_string() }}) as kpi_id,
        cast(kpi_name as {{ dbt.type_string() }}) as kpi_name,
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(scope as {{ dbt.type_string() }}) as scope,
        cast(scope_id as {{ dbt.type_string() }}) as scope_id,
        cast(scope_name as {{ dbt.type_string() }}) as scope_name,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(kpi_window as {{ dbt.type_string() }}) as kpi_window,
        window_start,
        cast(data_as_of as date) as window_end,
        {{ ads_trim_decimal('kpi_value') }} as current_value,
        target_value,
        alert_threshold,
        cast(direction as {{ dbt.type_string() }}) as direction,
        {{ ads_trim_decimal(ads_ratio('kpi_value', 'target_value', integer_numerator=false)) }}
            as target_progress,
        cast(kpi_status as {{ dbt.type_string() }}) as status,
        alerts_enabled,
        {{ ads_run_started_at() }} as computed_at,
        cast(data_as_of as date) as data_as_of,
        data_loaded_at
    from kpi_days
    where date_day = data_as_of
)

select * from final
