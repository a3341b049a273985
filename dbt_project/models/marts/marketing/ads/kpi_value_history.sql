{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
        pre_hook="{{ keymap_lock() }}",
    )
}}
{#-
    Append-only log of KPI evaluations: every build appends the current value of each
    KPI x entity whose value, status, data day or alerts flag differs from its last logged
    row, and a `retired` row for one that is no longer evaluated (KPI removed from the seed,
    campaign gone). Past rows never change, so the alert episodes derived from this log
    (kpi_alerts) and their ids are stable. `full_refresh=false`: it is history, a
    --full-refresh rebuild keeps it. The pre-hook lock serialises concurrent builds.
-#}

with

current_values as (
    select * from {{ ref('kpi_current_values') }}
),

logged as (
    select
        *,
        row_number() over (
            partition by kpi_value_id order by computed_at desc, evaluation_id desc
        ) as recency
    from {{ ads_logged_evaluations() }} as logged_evaluations
),

latest_logged as (
    select * from logged
    where recency = 1
),

changed as (
    select
        current_values.kpi_value_id,
        current_values.kpi_id,
        current_values.kpi_name,
        current_values.metric,
        current_values.scope,
        current_values.scope_id,
        current_values.scope_name,
        current_values.account_id,
        current_values.kpi_window,
        current_values.window_start,
        current_values.window_end,
        current_values.current_value,
        current_values.target_value,
        current_values.alert_threshold,
        current_values.direction,
        current_values.status,
        current_values.alerts_enabled,
        current_values.data_as_of,
        current_values.data_loaded_at
    from current_values
    left join latest_logged on current_values.kpi_value_id = latest_logged.kpi_value_id
    where
        latest_logged.kpi_value_id is null
        or latest_logged.status is distinct from current_values.status
        or latest_logged.current_value is distinct from current_values.current_value
        or latest_logged.data_as_of is distinct from current_values.data_as_of
        or latest_logged.alerts_enabled is distinct from current_values.alerts_enabled
        or latest_logged.alert_threshold is distinct from current_values.alert_threshold
        or latest_logged.direction is distinct from current_values.direction
),

retired as (
    select
        latest_logged.kpi_value_id,
        latest_logged.kpi_id,
        latest_logged.kpi_name,
        latest_logged.metric,
        latest_logged.scope,
        latest_logged.scope_id,
        latest_logged.scope_name,
        latest_logged.account_id,
        latest_logged.kpi_window,
        latest_logged.window_start,
        latest_logged.window_end,
        latest_logged.current_value,
        latest_logged.target_value,
        latest_logged.alert_threshold,
        latest_logged.direction,
        cast('retired' as {{ dbt.type_string() }}) as status,
        latest_logged.alerts_enabled,
        latest_logged.data_as_of,
        latest_logged.data_loaded_at
    from latest_logged
    left join current_values on latest_logged.kpi_value_id = current_values.kpi_value_id
    where current_values.kpi_value_id is null and latest_logged.status != 'retired'
),

evaluations as (
    select * from changed
    union all
    select * from retired
),

final as (
    select
        cast(
            {{ dbt.hash(dbt.concat(['kpi_value_id', "'|'", ads_run_started_at_text()])) }}
            as {{ dbt.type_string() }}
        ) as evaluation_id,
        kpi_value_id,
        kpi_id,
        kpi_name,
        metric,
        scope,
        scope_id,
        scope_name,
        account_id,
        kpi_window,
        window_start,
        window_end,
        current_value,
        target_value,
        alert_threshold,
        direction,
        status,
        coalesce(status = 'breached' and alerts_enabled, false) as is_alerting,
        alerts_enabled,
        data_as_of,
        data_loaded_at,
        {{ ads_run_started_at() }} as computed_at
    from evaluations
)

select * from final
