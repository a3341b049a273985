with

source as (
    select * from {{ source('ops', 'delivery_dead_letters') }}
),

renamed as (
    select
        cast(event_id as {{ dbt.type_bigint() }}) as event_id,
        target,
        outbox_relation,
        outbox_id,
        action,
        attempts as counted_attempts,
        cast(last_delivery_id as {{ dbt.type_bigint() }}) as last_delivery_id,
        reason,
        recorded_at
    from source
)

select * from renamed
