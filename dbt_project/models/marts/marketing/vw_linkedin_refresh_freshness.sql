{{ config(materialized='view') }}

-- Monitoring: how fresh the LinkedIn data is - one row: the last completed live refresh
-- (imports do not count, as in the loader's stale-data check) and the last completed
-- import, the days since as of var('as_of'), the changes the last refresh found, and a
-- status: ok up to 35 days, warn after 35, critical after 45 (the raw source freshness
-- thresholds), never when no refresh ever completed.
with

jobs as (
    select
        job_unique_id,
        job_trigger,
        status,
        run_completed_at,
        total_profiles,
        profiles_skipped
    from {{ ref('stg_apify__refresh_jobs') }}
    where status = 'completed'
),

ranked as (
    select
        *,
        row_number() over (
            partition by job_trigger = 'import'
            order by run_completed_at desc, job_unique_id desc
        ) as recency
    from jobs
),

last_refresh as (
    select
        job_unique_id,
        run_completed_at,
        total_profiles,
        profiles_skipped
    from ranked
    where job_trigger <> 'import' and recency = 1
),

last_import as (
    select
        job_unique_id,
        run_completed_at
    from ranked
    where job_trigger = 'import' and recency = 1
),

changes as (
    select count(*) as profiles_changed
    from {{ ref('people_intelligence') }}
    where {{ json_text('metadata', 'refresh_job_id') }} = (select last_refresh.job_unique_id from last_refresh)
),

as_of as (
    select {{ as_of_date() }} as as_of_date
),

ages as (
    select
        as_of.as_of_date,
        last_refresh.job_unique_id,
        last_refresh.run_completed_at,
        last_refresh.total_profiles,
        last_refresh.profiles_skipped,
        {{ dbt.datediff('cast(last_refresh.run_completed_at as date)', 'as_of.as_of_date', 'day') }}
            as days_since_last_refresh
    from as_of
    left join last_refresh on 1 = 1
),

final as (
    select
        ages.as_of_date,
        ages.job_unique_id as last_refresh_job_unique_id,
        ages.run_completed_at as last_refresh_completed_at,
        ages.total_profiles as last_refresh_total_profiles,
        ages.profiles_skipped as last_refresh_profiles_skipped,
        changes.profiles_changed as last_refresh_profiles_changed,
        ages.days_since_last_refresh,
        last_import.job_unique_id as last_import_job_unique_id,
        last_import.run_completed_at as last_import_completed_at,
        case
            when ages.run_completed_at is null then 'never'
            when ages.days_since_last_refresh > 45 then 'critical'
            when ages.days_since_last_refresh > 35 then 'warn'
            else 'ok'
        end as freshness_status
    from ages
    left join last_import on 1 = 1
    cross join changes
)

select * from final
