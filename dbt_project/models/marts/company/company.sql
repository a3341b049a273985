with

companies as (
    select * from {{ ref('int_company_records_deduplicated') }}
),

-- last check of each of the company's URLs, from the URL check history (raw_ops.url_checks)
url_checks as (
    select
        company_id,
        max(case when url_type = 'website' then last_checked_at end) as last_site_checked_at,
        max(case when url_type = 'linkedin' then last_checked_at end) as last_linkedin_checked_at,
        max(case when url_type = 'news' then last_checked_at end) as last_news_checked_at
    from {{ ref('int_company_urls_checked') }}
    group by company_id
),

final as (
    -- columns in the published order (the contract), not sqlfluff's
    select  -- noqa: ST06
        companies.company_id,
        companies.company_name,
        companies.ein,
        companies.website_url,
        companies.linkedin_url,
        companies.news_url,
        companies.address_line1,
        companies.address_line2,
        companies.city,
        companies.state_region,
        companies.postal_code,
        companies.country,
        companies.renewal_month,
        coalesce(companies.renewal_notice_window_days, 120) as renewal_notice_window_days,
        companies.created_at,
        companies.updated_at,
        url_checks.last_site_checked_at,
        url_checks.last_linkedin_checked_at,
        url_checks.last_news_checked_at
    from companies
    left join url_checks on companies.company_id = url_checks.company_id
)

select * from final
