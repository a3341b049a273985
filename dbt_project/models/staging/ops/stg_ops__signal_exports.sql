with

source as (
    select * from {{ source('ops', 'signal_exports') }}
),

renamed as (
    select
        cast(signal_id as {{ dbt.type_bigint() }}) as signal_id,
        target,
        exported_at,
        delivery_id,
        _loaded_at as loaded_at
    from source
)

select * from renamed
