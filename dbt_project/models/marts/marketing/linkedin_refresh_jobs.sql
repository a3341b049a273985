{{ config(materialized='view') }}

with

jobs as (
    select * from {{ ref('stg_apify__refresh_jobs') }}
),

-- the people_intelligence rows (detected changes) each job's observations produced
changes as (
    select
        {{ json_text('metadata', 'refresh_job_id') }} as job_unique_id,
        count(*) as profiles_changed
    from {{ ref('people_intelligence') }}
    group by {{ json_text('metadata', 'refresh_job_id') }}
),

final as (
    select
        jobs.job_id as id,
        jobs.job_unique_id,
        jobs.run_started_at,
        jobs.run_completed_at,
        jobs.total_profiles,
        cast(coalesce(changes.profiles_changed, 0) as {{ dbt.type_int() }}) as profiles_changed,
        jobs.profiles_skipped,
        jobs.status,
        jobs.actor_id,
        jobs.dataset_id,
        jobs.run_id,
        jobs.error_message,
        jobs.metadata,
        jobs.created_at,
        jobs.updated_at
    from jobs
    left join changes on jobs.job_unique_id = changes.job_unique_id
)

select * from final
