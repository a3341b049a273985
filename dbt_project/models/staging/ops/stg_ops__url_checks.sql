with

source as (
    select * from {{ source('ops', 'url_checks') }}
),

renamed as (
    select
        check_id,
        url_type,
        url as url_as_checked,
        case url_type
            when 'website' then {{ normalize_domain('url') }}
            when 'linkedin' then {{ normalize_linkedin_url('url') }}
            when 'news' then {{ normalize_page_url('url') }}
        end as url_match_key,
        cast(company_id as {{ dbt.type_bigint() }}) as company_id,
        checked_at,
        checker,
        http_status,
        outcome,
        _loaded_at as loaded_at
    from source
)

select * from renamed
