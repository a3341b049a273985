{{ config(materialized='view') }}

with

events as (
    select * from {{ ref('stg_ops__pipeline_events') }}
),

final as (
    select
        event_id,
        event_type,
        payload,
        status,
        created_at,
        processed_at
    from events
)

select * from final
