with

source as (
    select * from {{ source('ops', 'gdpr_tombstones') }}
),

renamed as (
    select
        kind as identifier_kind,
        value_sha256,
        erased_at
    from source
)

select * from renamed
