with

source as (
    select * from {{ source('intake', 'quarantine') }}
),

final as (
    select
        _row_key as row_key,
        entity,
        source_file,
        cast(row_number as {{ dbt.type_bigint() }}) as source_row_number,
        reason,
        field,
        detail,
        raw_record,
        _loaded_at as loaded_at
    from source
)

select * from final
