with

source as (
    select * from {{ source('intake', 'companies') }}
),

renamed as (
    select
        _row_key as row_key,
        _source_file as source_file,
        cast(_row_number as {{ dbt.type_bigint() }}) as source_row_number,
        _loaded_at as loaded_at,
        {{ normalize_whitespace('company_name') }} as company_name,
        {{ normalize_company_name(within_intake_limit('company_name')) }} as company_name_normalized,
        {{ normalize_whitespace('ein') }} as ein,
        {{ normalize_whitespace('website_url') }} as website_url,
        {{ normalize_domain(within_intake_limit('website_url')) }} as domain,
        {{ normalize_linkedin_url(within_intake_limit('linkedin_url')) }} as linkedin_url,
        {{ normalize_whitespace('news_url') }} as news_url,
        {{ normalize_whitespace('address_line1') }} as address_line1,
        {{ normalize_whitespace('address_line2') }} as address_line2,
        {{ normalize_whitespace('city') }} as city,
        {{ normalize_whitespace('state_region') }} as state_region,
        {{ normalize_whitespace('postal_code') }} as postal_code,
        {{ normalize_whitespace('country') }} as country,
        case
            when renewal_month between 1 and 12 then cast(renewal_month as {{ dbt.type_int() }})
        end as renewal_month,
        case
            when renewal_notice_window_days >= 0
                then cast(renewal_notice_window_days as {{ dbt.type_int() }})
        end as renewal_notice_window_days,
        _extra as extra
    from source
),

identified as (
    select
        *,
        {{ dbt.concat(["'li:'", "linkedin_url"]) }} as linkedin_alias,
        {{ dbt.concat(["'dom:'", "domain"]) }} as domain_alias,
        {{ dbt.concat(["'name:'", "company_name_normalized"]) }} as name_alias
    from renamed
),

final as (
    select
        *,
        coalesce(linkedin_alias, domain_alias, name_alias) as company_identity
    from identified
    -- no identity form at all: only a name over its limit (assert_no_intake_value_over_its_limit)
    where coalesce(linkedin_alias, domain_alias, name_alias) is not null
)

select * from final
