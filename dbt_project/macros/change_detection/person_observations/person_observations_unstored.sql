{#-
    int_person_observations, part 6b (incremental only): observations of processed datasets
    that were not stored (equal to the one before them), which the history path needs for
    the order of events, with their titles and employers normalised.
    CTEs: unstored, unstored_titles, unstored_title_map, unstored_employers,
    unstored_employer_map.
-#}
{% macro person_observations_unstored(o) -%}
-- observations of processed datasets that were not stored (equal to the one before them):
-- the history path needs them for the order of events
unstored as (
    select
        profiles.item_key,
        profiles.linkedin_url as profile_url,
        profiles.observed_at,
        profiles.loaded_at,
        profiles.title,
        profiles.company_name,
        profiles.company_linkedin_url,
        profiles.has_current_position
    from {{ ref('stg_apify__profile_items') }} as profiles
    where
        exists (select 1 from history_new)
        and {{ in_subquery(
            'profiles.dataset_id',
            "select seen.source_ref from " ~ this ~ " as seen where seen.origin = 'dataset'"
        ) }}
        and profiles.linkedin_url in (select history_profiles.profile_url from history_profiles)
        and profiles.item_shape is distinct from 'unparsed'
        and not exists (
            select 1
            from {{ this }} as seen
            where seen.observation_key = {{ dbt.concat(["'apify:'", 'profiles.item_key']) }}
        )
),

unstored_titles as (
    select distinct title from unstored where title is not null
),

unstored_title_map as (
    {{ observation_title_map('unstored_titles') }}
),

unstored_employers as (
    select distinct
        company_name as employer_name,
        company_linkedin_url as employer_linkedin_url,
        cast(null as {{ o.text }}) as employer_website
    from unstored
),

unstored_employer_map as (
    {{ observation_employer_map('unstored_employers') }}
)
{%- endmacro %}
