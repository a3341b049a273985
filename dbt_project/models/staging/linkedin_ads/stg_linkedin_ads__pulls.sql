with

source as (
    select * from {{ source('linkedin_ads', 'pulls') }}
),

renamed as (
    select
        pull_id,
        account_id,
        connection as connection_name,
        method as connection_method,
        source as pull_source,
        file_name,
        trigger as pull_trigger,
        date_start,
        date_end,
        rows as rows_fetched,
        new_rows,
        restated_rows,
        unchanged_rows,
        zeroed_rows,
        seconds as pull_seconds,
        _loaded_at as loaded_at
    from source
)

select * from renamed
