{#-
    Employment periods of each contact at tracked companies, from the LinkedIn observation
    history of change detection (int_person_observations: the intake baseline and every
    LinkedIn observation of the profile). A stint is a run of consecutive observations (by
    observed_at) at the same tracked company: it started at the first of them and ended at
    the first later observation showing another employer (or none); ended_at null = still
    there at the latest observation. Observations at untracked employers break runs but
    make no stint. Gaps and islands: observation number minus number within the company.
-#}

with

observations as (
    select
        profile_url,
        observation_key,
        observed_at,
        employer_company_id,
        row_number() over (
            partition by profile_url order by observed_at, observation_key
        ) as n_all,
        row_number() over (
            partition by profile_url, coalesce(employer_company_id, -1)
            order by observed_at, observation_key
        ) as n_company
    from {{ ref('int_person_observations') }}
    where profile_url is not null and origin in ('linkedin', 'intake')
),

stints as (
    select
        profile_url,
        employer_company_id as company_id,
        min(observed_at) as started_at,
        max(observed_at) as last_observed_at,
        max(n_all) as last_n,
        count(*) as observations
    from observations
    where employer_company_id is not null
    group by profile_url, employer_company_id, n_all - n_company
),

-- one contact per profile URL
contacts as (
    {{ one_contact_per(ref('int_person_records_deduplicated'), 'linkedin_url') }}
),

final as (
    select
        contacts.contact_id,
        stints.profile_url,
        stints.company_id,
        stints.started_at,
        stints.last_observed_at,
        next_observation.observed_at as ended_at,
        stints.observations
    from stints
    inner join contacts on stints.profile_url = contacts.linkedin_url
    left join observations as next_observation
        on stints.profile_url = next_observation.profile_url and next_observation.n_all = stints.last_n + 1
)

select * from final
