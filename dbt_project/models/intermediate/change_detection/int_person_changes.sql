{#-
    One row per detected change: a LinkedIn observation whose title or employer differs from
    the observation it is compared with (int_person_observations), classified into
    promotion / role_change / job_change / new_company / left_company with both titles'
    seniority (seeds/title_seniority.csv) and both employers. Append-only like the history
    it reads: a build classifies the changes it has not seen. Rules:
    change_detection/_int_change_detection__models.yml.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        indexes=[
            {'columns': ['event_key'], 'unique': True},
            {'columns': ['loaded_at']},
            {'columns': ['profile_url']},
        ],
    )
}}

{#- incremental: changes of observations added since the latest change classified (the
    history is append-only, so nothing older can turn into a change) -#}
{%- set unclassified_filter -%}
    {%- if is_incremental() -%}
        and observations.origin = 'linkedin'
        and observations.loaded_at >= (
            select coalesce(max(seen.loaded_at), cast('1900-01-01' as {{ type_timestamptz() }}))
            from {{ this }} as seen
        )
        and not exists (
            select 1
            from {{ this }} as seen
            where seen.event_key = observations.observation_key
        )
    {%- endif -%}
{%- endset %}

with

changes as (
    select
        observations.observation_key,
        observations.previous_observation_key,
        observations.profile_url,
        observations.observed_at,
        observations.loaded_at,
        observations.job_unique_id,
        observations.source_ref,
        observations.title,
        observations.has_current_position,
        observations.employer_name,
        observations.employer_linkedin_url,
        observations.employer_domain,
        observations.employer_name_key,
        observations.employer_company_id,
        observations.employer_changed,
        observations.title_changed,
        -- the observation compared with (int_person_observations carries its state)
        observations.previous_origin,
        observations.previous_observed_at,
        observations.previous_title,
        observations.previous_employer_name,
        observations.previous_employer_linkedin_url,
        observations.previous_employer_domain,
        observations.previous_employer_company_id
    from {{ ref('int_person_observations') }} as observations
    where
        observations.is_change
        {{ unclassified_filter }}  -- noqa: LT02
),

change_titles as (
    select title from changes
    union all
    select previous_title as title from changes
),

title_levels as (
    {{ title_seniority('change_titles') }}
),

compared as (
    select
        changes.observation_key as event_key,
        changes.profile_url,
        changes.observed_at as detected_at,
        changes.loaded_at,
        changes.job_unique_id,
        changes.source_ref as dataset_id,
        changes.previous_observation_key,
        changes.previous_origin,
        changes.previous_observed_at,
        changes.previous_title,
        changes.title as new_title,
        previous_levels.level_rank as previous_level_rank,
        previous_levels.level_code as previous_level_code,
        coalesce(previous_levels.is_executive, false) as previous_is_executive,
        new_levels.level_rank as new_level_rank,
        new_levels.level_code as new_level_code,
        coalesce(new_levels.is_executive, false) as new_is_executive,
        changes.previous_employer_name,
        changes.previous_employer_linkedin_url,
        changes.previous_employer_domain,
        changes.previous_employer_company_id as previous_company_id,
        changes.employer_name as new_employer_name,
        changes.employer_linkedin_url as new_employer_linkedin_url,
        changes.employer_domain as new_employer_domain,
        changes.employer_company_id as new_company_id,
        changes.employer_changed,
        coalesce(
            cast(changes.employer_company_id as {{ dbt.type_string() }}), changes.employer_linkedin_url,
            changes.employer_domain, changes.employer_name_key
        ) is not null as has_new_employer
    from changes
    left join title_levels as previous_levels on changes.previous_title = previous_levels.title
    left join title_levels as new_levels on changes.title = new_levels.title
),

classified as (
    select
        *,
        case
            when employer_changed and not has_new_employer then 'left_company'
            when employer_changed and new_company_id is not null then 'job_change'
            when employer_changed then 'new_company'
            when new_level_rank > previous_level_rank then 'promotion'
            else 'role_change'
        end as change_type
    from compared
),

final as (
    select
        event_key,
        profile_url,
        change_type,
        detected_at,
        loaded_at,
        job_unique_id,
        dataset_id,
        previous_observation_key,
        previous_origin,
        previous_observed_at,
        previous_title,
        new_title,
        previous_level_rank,
        previous_level_code,
        previous_is_executive,
        new_level_rank,
        new_level_code,
        new_is_executive,
        previous_employer_name,
        previous_employer_linkedin_url,
        previous_employer_domain,
        previous_company_id,
        new_employer_name,
        new_employer_linkedin_url,
        new_employer_domain,
        new_company_id
    from classified
)

select * from final
