{{ config(materialized='view') }}
-- Each company's current website / news / LinkedIn page state (published as
-- company.website_health): the newest check of each URL (int_company_page_checks), the
-- website's failing streak, and whether it now lands on another registrable domain. A view
-- over views: a recorded check shows at once.
with

companies as (
    select
        company_id,
        company_name,
        website_url,
        news_url,
        linkedin_url
    from {{ ref('int_company_records_deduplicated') }}
),

checks as (
    select * from {{ ref('int_company_page_checks') }}
),

latest as (
    select * from checks
    where check_rank = 1
),

website_streaks as (
    select
        company_id,
        count(*) as consecutive_failures
    from checks
    where url_type = 'website' and in_failing_streak
    group by company_id
),

final as (
    -- columns grouped by page (website, news, LinkedIn), not in sqlfluff's order
    select  -- noqa: ST06
        companies.company_id,
        companies.company_name,
        companies.website_url,
        case
            when companies.website_url is null then 'no_website'
            when website.check_id is null then 'unchecked'
            when coalesce(website_streaks.consecutive_failures, 0) >= 2 then 'down'
            when website.is_failing then 'failing'
            when website.outcome = 'robots_disallowed' then 'not_checked_robots'
            else 'up'
        end as website_state,
        website.outcome as website_outcome,
        website.http_status as website_http_status,
        website.final_url as website_final_url,
        website.final_domain as website_final_domain,
        coalesce(website.final_domain <> website.requested_domain, false)
            as website_domain_changed,
        website.page_title as website_title,
        website.content_type as website_content_type,
        website.content_hash as website_content_hash,
        website.last_modified as website_last_modified,
        website.error_message as website_error,
        coalesce(website_streaks.consecutive_failures, 0) as website_consecutive_failures,
        website.checked_at as website_checked_at,
        companies.news_url,
        news.outcome as news_outcome,
        news.http_status as news_http_status,
        news.checked_at as news_checked_at,
        companies.linkedin_url,
        linkedin.outcome as linkedin_outcome,
        linkedin.employee_count as linkedin_employee_count,
        linkedin.checked_at as linkedin_checked_at
    from companies
    left join latest as website
        on companies.company_id = website.company_id and website.url_type = 'website'
    left join latest as news
        on companies.company_id = news.company_id and news.url_type = 'news'
    left join latest as linkedin
        on companies.company_id = linkedin.company_id and linkedin.url_type = 'linkedin'
    left join website_streaks on companies.company_id = website_streaks.company_id
)

select * from final
