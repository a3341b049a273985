with

source as (
    select * from {{ source('ops', 'pipeline_errors') }}
),

renamed as (
    select
        cast(error_id as {{ dbt.type_bigint() }}) as error_id,
        cast(event_id as {{ dbt.type_bigint() }}) as event_id,
        event_type,
        record_id,
        error_message,
        severity,
        coalesce(resolved, false) as resolved,
        resolved_at,
        created_at,
        updated_at
    from source
)

select * from renamed
