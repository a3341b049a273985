-- Each LinkedIn profile's latest verified position: the title and employer of its latest
-- in-time LinkedIn observation (int_person_observations; late imports do not count). A
-- profile whose latest observation shows no current job has title and employer null.
-- marketing.people_master prefers this to the intake row.
with

observations as (
    select
        observation_key,
        profile_url,
        observed_at,
        loaded_at,
        job_unique_id,
        title,
        has_current_position,
        employer_name,
        employer_linkedin_url,
        employer_company_id,
        row_number() over (
            partition by profile_url
            order by loaded_at desc, observation_key desc
        ) as recency
    from {{ ref('int_person_observations') }}
    where origin = 'linkedin' and not is_late
),

final as (
    select
        profile_url,
        observation_key,
        observed_at,
        loaded_at,
        job_unique_id,
        title,
        has_current_position,
        employer_name,
        employer_linkedin_url,
        employer_company_id
    from observations
    where recency = 1
)

select * from final
