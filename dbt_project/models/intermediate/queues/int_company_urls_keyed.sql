-- One row per company and URL it has (website, linkedin, news) with the key checks are
-- matched on (stg_ops__url_checks.url_match_key): website by domain, LinkedIn by the
-- canonical company URL, news by the normalised page URL.
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

final as (
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
)

select * from final
