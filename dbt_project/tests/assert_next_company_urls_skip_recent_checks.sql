{{ config(meta={'dagster': {'ref': {'name': 'next_company_urls_30d'}}}) }}
-- The company URL queue never lists a URL checked within the 30 days before as_of,
-- judged against the raw check history (URLs compared after the same normalisation).
with

queue as (
    select
        company_id,
        url_type,
        case url_type
            when 'website' then {{ normalize_domain('url') }}
            when 'linkedin' then {{ normalize_linkedin_url('url') }}
            when 'news' then {{ normalize_page_url('url') }}
        end as url_match_key
    from {{ ref('next_company_urls_30d') }}
),

recent_checks as (
    select
        url_type,
        url_match_key,
        checked_at
    from {{ ref('stg_ops__url_checks') }}
    where checked_at >= {{ dbt.dateadd('day', -1 * var('queue_ttl_days', 30), as_of_date()) }}
),

final as (
    select
        queue.company_id,
        queue.url_type,
        recent_checks.checked_at
    from queue
    inner join recent_checks
        on
            queue.url_type = recent_checks.url_type
            and queue.url_match_key = recent_checks.url_match_key
)

select * from final
