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
        -- loaders/company_pages/settings.py FAILING_OUTCOMES (a test keeps them equal)
        coalesce(outcome in (
            'http_error', 'dns_error', 'tls_error', 'connect_error', 'timeout', 'too_large',
            'redirect_loop', 'too_many_redirects', 'invalid_url'
        ), false) as is_failing,
        {{ json_text('detail', 'final_url') }} as final_url,
        {{ json_text('detail', 'requested_domain') }} as requested_domain,
        {{ json_text('detail', 'final_domain') }} as final_domain,
        {{ json_text('detail', 'content_type') }} as content_type,
        {{ json_text('detail', 'content_hash') }} as content_hash,
        {{ json_text('detail', 'title') }} as page_title,
        {{ json_text('detail', 'last_modified') }} as last_modified,
        {{ json_text('detail', 'error') }} as error_message,
        cast({{ json_text('detail', 'employee_count') }} as {{ dbt.type_int() }}) as employee_count,
        {{ json_text('detail', 'company_name') }} as linkedin_company_name,
        {{ json_text('detail', 'industry') }} as industry,
        _loaded_at as loaded_at
    from source
)

select * from renamed
