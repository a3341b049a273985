-- Each LinkedIn profile's latest verified position: the title and employer of its last
-- recorded in-time LinkedIn observation (int_person_observation_states; late imports do
-- not count). A profile whose latest observation shows no current job has title and
-- employer null. A profile whose LinkedIn observations all agreed with its intake row has
-- none (nothing was recorded): marketing.people_master keeps the intake row, which LinkedIn
-- confirmed. people_master prefers this to the intake row.
with

states as (
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
    from {{ ref('int_person_observation_states') }}
    where origin = 'linkedin'
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
    from states
)

select * from final
