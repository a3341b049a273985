with

companies as (
    select * from {{ ref('int_company_records_deduplicated') }}
),

final as (
    select
        {{ barton_id('01', 'company_id') }} as company_unique_id,
        company_id,
        company_name,
        website_url,
        domain,
        linkedin_url,
        created_at,
        updated_at
    from companies
)

select * from final
