{{ config(meta={'dagster': {'ref': {'name': 'due_email_recheck_30d'}}}) }}
-- The email queue never lists an address checked within the 30 days before as_of,
-- judged against the raw check history, not the logic the view uses.
with

queue as (
    select
        contact_id,
        email
    from {{ ref('due_email_recheck_30d') }}
),

recent_checks as (
    select
        email,
        max(checked_at) as checked_at
    from {{ ref('stg_millionverifier__email_checks') }}
    where checked_at >= {{ dbt.dateadd('day', -1 * var('queue_ttl_days', 30), as_of_date()) }}
    group by email
),

final as (
    select
        queue.contact_id,
        queue.email,
        recent_checks.checked_at
    from queue
    inner join recent_checks on queue.email = recent_checks.email
)

select * from final
