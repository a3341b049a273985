with

people as (
    select * from {{ ref('int_person_records_deduplicated') }}
),

-- the latest LinkedIn observation wins over the intake row for title and employer
verified as (
    select * from {{ ref('int_person_verified_positions') }}
),

positioned as (
    select
        people.*,
        verified.title as verified_title,
        verified.employer_company_id as verified_company_id,
        verified.observed_at as verified_observed_at,
        verified.loaded_at as verified_loaded_at,
        verified.job_unique_id as verified_job_unique_id,
        verified.employer_name as verified_employer_name,
        verified.employer_linkedin_url as verified_employer_linkedin_url,
        verified.profile_url is not null as is_verified
    from people
    left join verified on people.linkedin_url = verified.profile_url
),

final as (
    select
        {{ barton_id('02', 'contact_id') }} as unique_id,
        contact_id,
        full_name,
        linkedin_url,
        case when is_verified then verified_title else title end as title,
        email,
        case
            when is_verified and verified_company_id is not null then {{ barton_id('01', 'verified_company_id') }}
            when not is_verified and employer_company_id is not null then {{ barton_id('01', 'employer_company_id') }}
        end as company_unique_id,
        {{ build_json_object([
            ('source_file', 'source_file'),
            ('source_row_number', 'source_row_number'),
            ('employer_as_given', build_json_object([
                ('company_name', 'employer_name'),
                ('company_website', 'employer_website'),
                ('company_linkedin_url', 'employer_linkedin_url_given'),
            ])),
            ('extra', 'extra'),
            ('linkedin', "case when is_verified then " ~ build_json_object([
                ('observed_at', 'verified_observed_at'),
                ('refresh_job_id', 'verified_job_unique_id'),
                ('title', 'verified_title'),
                ('company_name', 'verified_employer_name'),
                ('company_linkedin_url', 'verified_employer_linkedin_url'),
            ]) ~ " end"),
        ]) }} as metadata,
        created_at,
        case
            when is_verified and verified_loaded_at > updated_at then verified_loaded_at
            else updated_at
        end as updated_at
    from positioned
)

select * from final
