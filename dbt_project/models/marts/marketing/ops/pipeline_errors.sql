{{ config(materialized='view') }}

with

errors as (
    select * from {{ ref('stg_ops__pipeline_errors') }}
),

final as (
    select
        error_id,
        event_id,
        event_type,
        record_id,
        error_message,
        severity,
        resolved,
        resolved_at,
        created_at
    from errors
)

select * from final
