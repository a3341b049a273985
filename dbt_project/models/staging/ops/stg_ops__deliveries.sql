with

source as (
    select * from {{ source('ops', 'deliveries') }}
),

renamed as (
    select
        cast(delivery_id as {{ dbt.type_bigint() }}) as delivery_id,
        target,
        outbox_relation,
        outbox_id,
        attempt,
        status,
        http_status,
        latency_ms,
        error,
        payload_sha256,
        attempted_at,
        finished_at
    from source
)

select * from renamed
