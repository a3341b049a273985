-- Detected changes of tracked people (published as marketing.people_intelligence): the
-- changes of int_person_changes whose profile belongs to a tracked person, with stable
-- Barton ids. Rules: _marketing__intelligence.yml. Incremental (append): a build adds the
-- keyed changes that have no row yet - new ones, and older ones whose person has become
-- tracked since - so a full rebuild gives the same rows.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
    )
}}

{#- incremental: the keyed changes without a row here yet -#}
{%- set unpublished_filter -%}
    {%- if is_incremental() -%}
        where event_key in (
            select keys.event_key
            from {{ ref('int_intelligence_keys') }} as keys
            where not exists (
                select 1
                from {{ this }} as published
                where published.intel_unique_id = {{ barton_id('04', 'keys.intel_seq') }}
            )
        )
    {%- endif -%}
{%- endset %}

with

changes as (
    select * from {{ ref('int_person_changes') }}
    {{ unpublished_filter }}  -- noqa: LT02
),

intelligence_keys as (
    select
        event_key,
        intel_seq,
        assigned_at
    from {{ ref('int_intelligence_keys') }}
),

-- tracked people by their LinkedIn profile (the person key map holds every form ever seen)
person_keys as (
    select
        alias_key,
        contact_seq
    from {{ ref('int_person_keys') }}
    where {{ in_subquery('alias_key', "select " ~ dbt.concat(["'li:'", 'changes.profile_url']) ~ " from changes") }}
),

jobs as (
    select
        job_unique_id,
        job_trigger
    from {{ ref('stg_apify__refresh_jobs') }}
),

joined as (
    select
        changes.*,
        intelligence_keys.intel_seq,
        intelligence_keys.assigned_at,
        person_keys.contact_seq,
        jobs.job_trigger
    from changes
    inner join intelligence_keys on changes.event_key = intelligence_keys.event_key
    inner join person_keys
        on {{ dbt.concat(["'li:'", 'changes.profile_url']) }} = person_keys.alias_key
    left join jobs on changes.job_unique_id = jobs.job_unique_id
),

final as (
    select
        {{ barton_id('04', 'intel_seq') }} as intel_unique_id,
        {{ barton_id('02', 'contact_seq') }} as person_unique_id,
        case
            when previous_company_id is not null then {{ barton_id('01', 'previous_company_id') }}
        end as company_unique_id,
        change_type,
        previous_title,
        new_title,
        detected_at,
        true as verified,
        case
            when job_trigger = 'import' then 'linkedin_profile_dataset_import'
            else 'linkedin_profile_scrape'
        end as verification_method,
        {{ build_json_object([
            ('profile_url', 'profile_url'),
            ('refresh_job_id', 'job_unique_id'),
            ('dataset_id', 'dataset_id'),
            ('observation_key', 'event_key'),
            ('previous_observation_key', 'previous_observation_key'),
            ('previous_source', 'previous_origin'),
            ('previous_observed_at', 'previous_observed_at'),
            ('previous_employer', build_json_object([
                ('company_name', 'previous_employer_name'),
                ('company_linkedin_url', 'previous_employer_linkedin_url'),
                ('domain', 'previous_employer_domain'),
                ('company_unique_id', "case when previous_company_id is not null then "
                    ~ barton_id('01', 'previous_company_id') ~ " end"),
            ])),
            ('new_employer', build_json_object([
                ('company_name', 'new_employer_name'),
                ('company_linkedin_url', 'new_employer_linkedin_url'),
                ('domain', 'new_employer_domain'),
                ('company_unique_id', "case when new_company_id is not null then "
                    ~ barton_id('01', 'new_company_id') ~ " end"),
            ])),
            ('matched_company_unique_id', "case when change_type = 'job_change' then "
                ~ barton_id('01', 'new_company_id') ~ " end"),
            ('executive_movement', 'previous_is_executive or new_is_executive'),
            ('previous_seniority', build_json_object([
                ('level', 'previous_level_code'),
                ('rank', 'previous_level_rank'),
                ('is_executive', 'previous_is_executive'),
            ])),
            ('new_seniority', build_json_object([
                ('level', 'new_level_code'),
                ('rank', 'new_level_rank'),
                ('is_executive', 'new_is_executive'),
            ])),
        ]) }} as metadata,
        assigned_at as created_at
    from joined
)

select * from final
