{%- set text = dbt.type_string() -%}
{%- set int = dbt.type_int() -%}
{%- set ts = type_timestamptz() -%}
{%- set raw_columns = {
    'job_unique_id': text, 'id': dbt.type_bigint(), 'status': text, 'trigger': text,
    'total_profiles': int, 'profiles_completed': int, 'profiles_skipped': int,
    'items_received': int, 'items_landed': int, 'actor_id': text, 'dataset_id': text,
    'run_id': text, 'error_message': text, 'metadata': apify_type_json(),
    'run_started_at': ts, 'run_completed_at': ts, 'created_at': ts, 'updated_at': ts,
} -%}

with

source as (
    select * from {{ apify_source_or_empty('apify', 'refresh_jobs', raw_columns) }}
),

renamed as (
    select
        job_unique_id,
        cast(id as {{ dbt.type_bigint() }}) as job_id,
        status,
        trigger as job_trigger,
        cast(total_profiles as {{ dbt.type_int() }}) as total_profiles,
        cast(profiles_completed as {{ dbt.type_int() }}) as profiles_completed,
        cast(profiles_skipped as {{ dbt.type_int() }}) as profiles_skipped,
        cast(items_received as {{ dbt.type_int() }}) as items_received,
        cast(items_landed as {{ dbt.type_int() }}) as items_landed,
        actor_id,
        dataset_id,
        run_id,
        error_message,
        metadata,
        run_started_at,
        run_completed_at,
        created_at,
        updated_at
    from source
)

select * from renamed
