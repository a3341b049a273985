with

source as (
    select * from {{ source('millionverifier', 'email_checks') }}
),

renamed as (
    select
        check_id,
        run_id,
        {{ normalize_email('email') }} as email,
        lower(nullif(trim(result), '')) as result,
        lower(nullif(trim(quality), '')) as quality,
        cast(resultcode as {{ dbt.type_int() }}) as result_code,
        nullif(trim(subresult), '') as subresult,
        free as is_free_domain,
        role as is_role_address,
        nullif(trim(didyoumean), '') as did_you_mean,
        cast(credits as {{ dbt.type_bigint() }}) as credits_left,
        nullif(trim(error), '') as error_message,
        method as check_method,
        source_url,
        bulk_file_id,
        checked_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
