{#-
    One row per breach episode of a KPI x entity, derived from the append-only evaluation
    log: an episode opens at the first evaluation that is breached (alerts enabled) after
    one that was not (or after none), stays open while evaluations stay breached (no
    repeat alert), and closes at the first evaluation that is not: recovered, no_data,
    retired, or alerts_disabled. A new breach after that is a new episode, a new alert.
    alert_id is the id of the opening evaluation, so it never changes.
-#}
with

history as (
    select * from {{ ref('kpi_value_history') }}
),

flagged as (
    select
        *,
        lag(is_alerting) over (
            partition by kpi_value_id order by computed_at, evaluation_id
        ) as was_alerting
    from history
),

numbered as (
    select
        *,
        case when is_alerting and not coalesce(was_alerting, false) then 1 else 0 end as opens,
        sum(case when is_alerting and not coalesce(was_alerting, false) then 1 else 0 end) over (
            partition by kpi_value_id order by computed_at, evaluation_id
            rows between unbounded preceding and current row
        ) as episode_number
    from flagged
),

episode_rows as (
    select
        *,
        row_number() over (
            partition by kpi_value_id, episode_number, is_alerting
            order by computed_at desc, evaluation_id desc
        ) as newest_first,
        row_number() over (
            partition by kpi_value_id, episode_number, is_alerting
            order by computed_at, evaluation_id
        ) as oldest_first
    from numbered
    where episode_number > 0
),

openings as (
    select * from episode_rows
    where opens = 1
),

latest_breached as (
    select * from episode_rows
    where is_alerting and newest_first = 1
),

breached_counts as (
    select
        kpi_value_id,
        episode_number,
        count(*) as breached_evaluations
    from episode_rows
    where is_alerting
    group by kpi_value_id, episode_number
),

closings as (
    select * from episode_rows
    where not is_alerting and oldest_first = 1
),

final as (
    select
        cast(openings.evaluation_id as {{ dbt.type_string() }}) as alert_id,
        openings.kpi_value_id,
        openings.kpi_id,
        openings.kpi_name,
        openings.metric,
        openings.scope,
        openings.scope_id,
        openings.scope_name,
        openings.account_id,
        openings.kpi_window,
        openings.direction,
        openings.alert_threshold,
        openings.target_value,
        cast(case when closings.evaluation_id is null then 'open' else 'closed' end as {{ dbt.type_string() }})
            as alert_status,
        openings.computed_at as opened_at,
        openings.current_value as opened_value,
        openings.data_as_of as opened_data_as_of,
        latest_breached.current_value as latest_breached_value,
        latest_breached.data_as_of as latest_breached_data_as_of,
        latest_breached.computed_at as latest_breached_at,
        cast(breached_counts.breached_evaluations as {{ dbt.type_bigint() }}) as breached_evaluations,
        closings.computed_at as closed_at,
        closings.current_value as closed_value,
        cast(
            case
                when closings.evaluation_id is null then null
                when closings.status = 'breached' then 'alerts_disabled'
                when closings.status in ('retired', 'no_data') then closings.status
                else 'recovered'
            end as {{ dbt.type_string() }}
        ) as close_reason
    from openings
    inner join latest_breached
        on
            openings.kpi_value_id = latest_breached.kpi_value_id
            and openings.episode_number = latest_breached.episode_number
    inner join breached_counts
        on
            openings.kpi_value_id = breached_counts.kpi_value_id
            and openings.episode_number = breached_counts.episode_number
    left join closings
        on
            openings.kpi_value_id = closings.kpi_value_id
            and openings.episode_number = closings.episode_number
)

select * from final
