{{ config(materialized='view') }}

-- Monitoring: tracked people with a LinkedIn URL that no refresh has observed in the 35
-- days before var('as_of') (never observed: last_checked_at null). The refresh is monthly,
-- so a profile on this list was skipped, rate-limited or failed at least once.
with

people as (
    select
        unique_id,
        contact_id,
        full_name,
        linkedin_url
    from {{ ref('people_master') }}
    where linkedin_url is not null
),

checks as (
    select
        profile_url,
        max(observed_at) as last_checked_at
    from {{ ref('int_person_observations') }}
    where origin = 'linkedin'
    group by profile_url
),

final as (
    select
        people.unique_id as person_unique_id,
        people.contact_id,
        people.full_name,
        people.linkedin_url,
        checks.last_checked_at,
        {{ dbt.datediff('cast(checks.last_checked_at as date)', as_of_date(), 'day') }}
            as days_since_check
    from people
    left join checks on people.linkedin_url = checks.profile_url
    where
        checks.last_checked_at is null
        or cast(checks.last_checked_at as date) < {{ dbt.dateadd('day', -35, as_of_date()) }}
)

select * from final
