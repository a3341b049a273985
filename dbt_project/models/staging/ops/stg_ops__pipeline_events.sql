with

source as (
    select * from {{ source('ops', 'pipeline_events') }}
),

renamed as (
    select
        cast(event_id as {{ dbt.type_bigint() }}) as event_id,
        event_type,
        payload,
        status,
        created_at,
        processed_at,
        updated_at
    from source
)

select * from renamed
