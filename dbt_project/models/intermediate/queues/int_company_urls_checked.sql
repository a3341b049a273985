-- One row per company and URL it has (website, linkedin, news) with the last time that
-- URL was checked (raw_ops.url_checks, matched on the normalised URL; null = never).
with

company_urls as (
    select
        company_id,
        url_type,
        url,
        url_match_key
    from {{ ref('int_company_urls_keyed') }}
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
