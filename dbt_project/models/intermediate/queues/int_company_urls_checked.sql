-- One row per company and URL it has (website, linkedin, news) with the last time that
-- URL was checked (raw_ops.url_checks, matched on the normalised URL; null = never).
with

companies as (
    select
        company_id,
        website_url,
        domain,
        linkedin_url,
        news_url
    from {{ ref('int_company_records_deduplicated') }}
),

company_urls as (
    select
        company_id,
        'website' as url_type,
        website_url as url,
        domain as url_match_key
    from companies
    where website_url is not null
    union all
    select
        company_id,
        'linkedin' as url_type,
        linkedin_url as url,
        linkedin_url as url_match_key
    from companies
    where linkedin_url is not null
    union all
    select
        company_id,
        'news' as url_type,
        news_url as url,
        {{ normalize_page_url('news_url') }} as url_match_key
    from companies
    where news_url is not null
),

checks as (
    select
        url_type,
        url_match_key,
        max(checked_at) as last_checked_at
    from {{ ref('stg_ops__url_checks') }}
    where url_match_key is not null
    group by url_type, url_match_key
),

final as (
    select
        company_urls.company_id,
        company_urls.url_type,
        company_urls.url,
        checks.last_checked_at
    from company_urls
    left join checks
        on
            company_urls.url_type = checks.url_type
            and company_urls.url_match_key = checks.url_match_key
)

select * from final
