-- Every check of a company's current website, LinkedIn and news URL (raw_ops.url_checks
-- matched on the normalised URL), newest first per company and url_type (check_rank 1 =
-- the current state; in_failing_streak = a failing check after the URL's last good one).
-- Checks of a URL the company no longer has do not count.
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
    select * from {{ ref('stg_ops__url_checks') }}
    where url_match_key is not null
),

matched as (
    select
        company_urls.company_id,
        company_urls.url_type,
        company_urls.url,
        checks.check_id,
        checks.checked_at,
        checks.checker,
        checks.http_status,
        checks.outcome,
        checks.is_failing,
        checks.final_url,
        checks.requested_domain,
        checks.final_domain,
        checks.content_type,
        checks.content_hash,
        checks.page_title,
        checks.last_modified,
        checks.error_message,
        checks.employee_count,
        checks.linkedin_company_name,
        checks.industry,
        row_number() over (
            partition by company_urls.company_id, company_urls.url_type
            order by checks.checked_at desc, checks.check_id desc
        ) as check_rank
    from company_urls
    inner join checks
        on
            company_urls.url_type = checks.url_type
            and company_urls.url_match_key = checks.url_match_key
),

final as (
    select
        *,
        is_failing and checked_at > coalesce(
            max(case when not is_failing and outcome <> 'robots_disallowed' then checked_at end)
                over (partition by company_id, url_type),
            cast('1900-01-01' as {{ dbt.type_timestamp() }})
        ) as in_failing_streak
    from matched
)

select * from final
