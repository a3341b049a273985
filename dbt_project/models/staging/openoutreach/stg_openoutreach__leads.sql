with

source as (
    select * from {{ source('openoutreach', 'crm_lead') }}
),

renamed as (
    select
        account,
        cast(id as {{ dbt.type_bigint() }}) as lead_id,
        website as linkedin_url_given,
        {{ normalize_linkedin_url('website') }} as linkedin_url,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(trim(title), '') as headline,
        nullif(trim(city_name), '') as city_name,
        nullif(trim(company_name), '') as company_name,
        nullif(trim(email), '') as email,
        {{ profile_json_parse('description') }} as profile_json,
        creation_date as created_at,
        update_date as updated_at
    from source
)

select * from renamed
