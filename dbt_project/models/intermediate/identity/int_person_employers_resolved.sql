-- People intake rows with their employer resolved to a company_id through the company
-- key map (LinkedIn company page, then website domain, then normalised name), and the
-- person's identity forms: li (profile URL), email, name (normalised full name + employer).
-- A table (analysed when built): it feeds int_person_identity_aliases,
-- int_person_records_deduplicated and their tests, each of which re-ran it as a view
-- (issue 18).
{{ config(materialized='table') }}

with

people as (
    select * from {{ ref('stg_intake__people') }}
),

current_companies as (
    select company_id
    from {{ ref('int_company_records_deduplicated') }}
),

company_aliases as (
    select
        company_keys.alias_key,
        company_keys.company_seq
    from {{ ref('int_company_keys') }} as company_keys
    inner join current_companies on company_keys.company_seq = current_companies.company_id
),

resolved as (
    select
        people.*,
        coalesce(
            by_linkedin.company_seq,
            by_domain.company_seq,
            by_name.company_seq
        ) as employer_company_id
    from people
    left join company_aliases as by_linkedin on people.employer_linkedin_alias = by_linkedin.alias_key
    left join company_aliases as by_domain on people.employer_domain_alias = by_domain.alias_key
    left join company_aliases as by_name on people.employer_name_alias = by_name.alias_key
),

employer_keyed as (
    select
        *,
        coalesce(
            {{ dbt.concat(["'company:'", "cast(employer_company_id as " ~ dbt.type_string() ~ ")"]) }},
            employer_linkedin_alias,
            employer_domain_alias,
            employer_name_alias,
            '?'
        ) as employer_key
    from resolved
),

named as (
    select
        *,
        {{ dbt.concat(["'name:'", "full_name_normalized", "'|'", "employer_key"]) }} as name_alias
    from employer_keyed
),

final as (
    select
        *,
        coalesce(linkedin_alias, email_alias, name_alias) as person_identity
    from named
)

select * from final
