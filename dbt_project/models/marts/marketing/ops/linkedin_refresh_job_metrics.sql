{{ config(materialized='view') }}

with

jobs as (
    select * from {{ ref('linkedin_refresh_jobs') }}
),

-- one row per job that ended, with its period start and its duration
ended_jobs as (
    select
        job_unique_id,
        status,
        coalesce(run_started_at, created_at) as started_at,
        total_profiles,
        profiles_changed,
        profiles_skipped,
        total_profiles - profiles_skipped as profiles_observed,
        {{ seconds_between(
            'coalesce(run_started_at, created_at)', 'coalesce(run_completed_at, updated_at)'
        ) }} as duration_seconds
    from jobs
    where status in ('completed', 'failed')
),

grains as (
    select 'day' as period_grain
    union all
    select 'week'
    union all
    select 'month'
),

periodised as (
    select
        grains.period_grain,
        cast(
            case grains.period_grain
                when 'day' then {{ dbt.date_trunc('day', 'ended_jobs.started_at') }}
                when 'week' then {{ dbt.date_trunc('week', 'ended_jobs.started_at') }}
                else {{ dbt.date_trunc('month', 'ended_jobs.started_at') }}
            end as date
        ) as period_start,
        ended_jobs.*
    from ended_jobs
    cross join grains
),

aggregated as (
    select
        period_grain,
        period_start,
        count(*) as jobs,
        sum(case when status = 'completed' then 1 else 0 end) as completed_jobs,
        sum(case when status = 'failed' then 1 else 0 end) as failed_jobs,
        sum(case when status = 'completed' then total_profiles else 0 end) as profiles_requested,
        sum(case when status = 'completed' then profiles_observed else 0 end) as profiles_observed,
        sum(case when status = 'completed' then profiles_changed else 0 end) as profiles_changed,
        sum(case when status = 'completed' then profiles_skipped else 0 end) as profiles_skipped,
        avg(duration_seconds) as avg_duration_seconds,
        sum(case when status = 'completed' then duration_seconds else 0 end) as completed_seconds
    from periodised
    group by period_grain, period_start
),

final as (
    select
        period_grain,
        period_start,
        cast(jobs as {{ dbt.type_int() }}) as jobs,
        cast(completed_jobs as {{ dbt.type_int() }}) as completed_jobs,
        cast(failed_jobs as {{ dbt.type_int() }}) as failed_jobs,
        cast(1.0 * completed_jobs / jobs as {{ dbt.type_numeric() }}) as success_rate,
        cast(
            1.0 * profiles_changed / nullif(profiles_observed, 0) as {{ dbt.type_numeric() }}
        ) as change_rate,
        cast(
            1.0 * profiles_skipped / nullif(profiles_requested, 0) as {{ dbt.type_numeric() }}
        ) as skip_rate,
        cast(avg_duration_seconds / 60.0 as {{ dbt.type_numeric() }}) as avg_duration_minutes,
        cast(
            3600.0 * profiles_observed / nullif(completed_seconds, 0) as {{ dbt.type_numeric() }}
        ) as profiles_per_hour,
        cast(profiles_requested as {{ dbt.type_int() }}) as profiles_requested,
        cast(profiles_observed as {{ dbt.type_int() }}) as profiles_observed,
        cast(profiles_changed as {{ dbt.type_int() }}) as profiles_changed,
        cast(profiles_skipped as {{ dbt.type_int() }}) as profiles_skipped
    from aggregated
)

select * from final
