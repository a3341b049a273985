with

source as (
    select * from {{ source('intake', 'people') }}
),

renamed as (
    select
        _row_key as row_key,
        _source_file as source_file,
        cast(_row_number as {{ dbt.type_bigint() }}) as source_row_number,
        _loaded_at as loaded_at,
        {{ normalize_whitespace('full_name') }} as full_name,
        lower({{ normalize_whitespace(within_intake_limit('full_name')) }}) as full_name_normalized,
        {{ normalize_whitespace('title') }} as title,
        {{ normalize_email(within_intake_limit('email')) }} as email,
        {{ normalize_whitespace('phone') }} as phone,
        {{ normalize_linkedin_url(within_intake_limit('linkedin_url')) }} as linkedin_url,
        {{ normalize_whitespace('company_name') }} as employer_name,
        {{ normalize_whitespace('company_website') }} as employer_website,
        {{ normalize_whitespace('company_linkedin_url') }} as employer_linkedin_url_given,
        {{ normalize_company_name(within_intake_limit('company_name')) }} as employer_name_normalized,
        {{ normalize_domain(within_intake_limit('company_website')) }} as employer_domain,
        {{ normalize_linkedin_url(within_intake_limit('company_linkedin_url')) }} as employer_linkedin_url,
        _extra as extra
    from source
),

final as (
    select
        *,
        {{ dbt.concat(["'li:'", "linkedin_url"]) }} as linkedin_alias,
        {{ dbt.concat(["'email:'", "email"]) }} as email_alias,
        {{ dbt.concat(["'li:'", "employer_linkedin_url"]) }} as employer_linkedin_alias,
        {{ dbt.concat(["'dom:'", "employer_domain"]) }} as employer_domain_alias,
        {{ dbt.concat(["'name:'", "employer_name_normalized"]) }} as employer_name_alias
    from renamed
    -- no identity form at all: only values over their limits (assert_no_intake_value_over_its_limit)
    where coalesce(linkedin_url, email, full_name_normalized) is not null
)

select * from final
