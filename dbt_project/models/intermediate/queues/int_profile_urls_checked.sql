-- When each LinkedIn profile URL was last observed by the Apify refresh: the latest
-- observed_at of an item whose profile URL, or the URL it was requested under, is that
-- URL (canonical forms, so they match people.contact.profile_source_url).
-- A view, so an import takes observed profiles off the queue at once, over a current-state
-- table: int_profile_url_check_states (what the last build saw) and the datasets loaded
-- after it (none right after a build). Its cost follows the URLs and the new datasets,
-- never the refresh history (issue 18).
with

states as (
    select
        url,
        last_checked_at
    from {{ ref('int_profile_url_check_states') }}
),

-- datasets loaded since the last build: the ids are read once (in_subquery) and reach the
-- raw table through the staging view's window, which is partitioned by dataset
observations as (
    select
        linkedin_url,
        input_linkedin_url,
        observed_at
    from {{ ref('stg_apify__profile_items') }}
    where {{ in_subquery('dataset_id',
        "select distinct items.dataset_id from " ~ source('apify', 'profile_items') ~ " as items"
        ~ " where items.loaded_at > (select coalesce(max(built.loaded_at), cast('1900-01-01' as "
        ~ type_timestamptz() ~ ")) from " ~ ref('int_profile_url_check_states') ~ " as built)") }}
),

new_urls as (
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

new_checks as (
    select
        url,
        max(observed_at) as last_checked_at
    from new_urls
    group by url
),

final as (
    select
        new_checks.url,
        greatest(new_checks.last_checked_at, states.last_checked_at) as last_checked_at
    from new_checks
    left join states on new_checks.url = states.url
    union all
    select
        states.url,
        states.last_checked_at
    from states
    where not exists (
        select 1
        from new_checks
        where new_checks.url = states.url
    )
)

select * from final
