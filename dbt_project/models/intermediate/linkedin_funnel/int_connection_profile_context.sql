-- One row per OpenOutreach lead: who the profile is in this warehouse (people_master and
-- people.contact by canonical LinkedIn URL) and what we know that OpenOutreach does not:
-- a job change or promotion detected in the 180 days before var('as_of'), the headline's
-- seniority (seeds/title_seniority.csv), the employer's renewal window open on as_of, a
-- verified (green) email.
with

leads as (
    select * from {{ ref('stg_openoutreach__leads') }}
),

people as (
    select
        linkedin_url,
        min(unique_id) as person_unique_id,
        min(company_unique_id) as company_unique_id
    from {{ ref('people_master') }}
    where linkedin_url is not null
    group by linkedin_url
),

contacts as (
    {{ one_contact_per(ref('contact'), 'profile_source_url') }}
),

recent_moves as (
    select distinct person_unique_id
    from {{ ref('people_intelligence') }}
    where
        change_type in ('job_change', 'promotion')
        and detected_at >= {{ dbt.dateadd('day', -180, as_of_date()) }}
        and detected_at < {{ dbt.dateadd('day', 1, as_of_date()) }}
),

open_windows as (
    select distinct companies.company_unique_id
    from {{ ref('company_master') }} as companies
    inner join {{ ref('int_company_renewals') }} as renewals
        on companies.company_id = renewals.company_id
    where renewals.is_window_open
),

green as (
    select distinct contact_id
    from {{ ref('contact_verification') }}
    where email_status = 'green'
),

headlines as (
    select distinct headline as title
    from leads
    where headline is not null
),

seniority as (
    {{ title_seniority('headlines') }}
),

final as (
    select
        leads.account,
        leads.lead_id,
        leads.linkedin_url,
        people.person_unique_id,
        contacts.contact_id,
        coalesce(seniority.level_rank, 0) as seniority_rank,
        case when recent_moves.person_unique_id is not null then 1 else 0 end
            as had_recent_job_change,
        case when open_windows.company_unique_id is not null then 1 else 0 end
            as company_in_renewal_window,
        case when green.contact_id is not null then 1 else 0 end as has_verified_email
    from leads
    left join people on leads.linkedin_url = people.linkedin_url
    left join contacts on leads.linkedin_url = contacts.profile_source_url
    left join recent_moves on people.person_unique_id = recent_moves.person_unique_id
    left join open_windows on people.company_unique_id = open_windows.company_unique_id
    left join green on contacts.contact_id = green.contact_id
    left join seniority on leads.headline = seniority.title
)

select * from final
