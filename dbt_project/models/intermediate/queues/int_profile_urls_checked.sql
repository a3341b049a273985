-- When each LinkedIn profile URL was last observed by the Apify refresh: the latest
-- observed_at of an item whose profile URL, or the URL it was requested under, is that
-- URL (canonical forms, so they match people.contact.profile_source_url).
with

observations as (
    select
        linkedin_url,
        input_linkedin_url,
        observed_at
    from {{ ref('stg_apify__profile_items') }}
),

urls as (
    select
        linkedin_url as url,
        observed_at
    from observations
    where linkedin_url is not null
    union all
    select
        input_linkedin_url as url,
        observed_at
    from observations
    where input_linkedin_url is not null
),

final as (
    select
        url,
        max(observed_at) as last_checked_at
    from urls
    group by url
)

select * from final
