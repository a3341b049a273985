{{ config(materialized='view') }}
-- Company website, LinkedIn and news URLs not checked within the last 30 days before
-- as_of (or never), from the URL check history in raw_ops.url_checks. A view over views:
-- recording a check takes the URL off the queue at once.
with

urls as (
    select
        company_id,
        url_type,
        url,
        last_checked_at
    from {{ ref('int_company_urls_checked') }}
),

final as (
    select
        company_id,
        url_type,
        url,
        last_checked_at
    from urls
    where
        last_checked_at is null
        or last_checked_at < {{ dbt.dateadd('day', -1 * var('queue_ttl_days', 30), as_of_date()) }}
)

select * from final
