{{ config(meta={'dagster': {'ref': {'name': 'next_profile_urls_30d'}}}) }}
-- The profile queue never lists a profile the Apify refresh observed within the 30 days
-- before as_of, judged against the observations themselves.
with

queue as (
    select
        contact_id,
        url
    from {{ ref('next_profile_urls_30d') }}
),

recent_observations as (
    select
        linkedin_url,
        input_linkedin_url,
        observed_at
    from {{ ref('stg_apify__profile_items') }}
    where
        observed_at >= {{ dbt.dateadd('day', -1 * var('queue_ttl_days', 30), as_of_date()) }}
        -- observed since the cutoff, so loaded since: only those datasets are read (the
        -- ids reach the raw table through the staging view's window; issue 18)
        and {{ in_subquery('dataset_id',
            "select distinct items.dataset_id from " ~ source('apify', 'profile_items') ~ " as items"
            ~ " where items.loaded_at >= " ~ dbt.dateadd('day', -1 * var('queue_ttl_days', 30), as_of_date())) }}
),

-- a queued URL is an observation's profile URL or the URL it was requested under: two
-- equi-joins (an `or` in one join condition can only be a nested loop)
matched as (
    select
        queue.contact_id,
        queue.url,
        recent_observations.observed_at
    from queue
    inner join recent_observations on queue.url = recent_observations.linkedin_url
    union all
    select
        queue.contact_id,
        queue.url,
        recent_observations.observed_at
    from queue
    inner join recent_observations on queue.url = recent_observations.input_linkedin_url
),

final as (
    select
        contact_id,
        url,
        observed_at
    from matched
)

select * from final
