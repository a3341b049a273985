{#-
    int_person_observations, part 3: the new observations with their title and employer
    normalised (once per distinct value) and resolved to a company.
    CTEs: title_values, title_map, employer_values, employer_map, linkedin_observed,
    intake_observed.
-#}
{% macro person_observations_observed(o) -%}
-- titles and employers are normalised once per distinct value as given, not per observation
title_values as (
    select title_given as title
    from items
    where title_given is not null and profile_url is not null and has_name
    union
    select title
    from intake_rows
    where title is not null
),

title_map as (
    {{ observation_title_map('title_values') }}
),

employer_values as (
    select
        company_name_given as employer_name,
        company_linkedin_url_given as employer_linkedin_url,
        cast(null as {{ o.text }}) as employer_website
    from items
    where profile_url is not null and has_name
    union
    select
        employer_name,
        employer_linkedin_url,
        employer_website
    from intake_rows
),

employer_map as (
    {{ observation_employer_map('employer_values') }}
),

-- each new LinkedIn observation with its title and employer normalised and resolved
linkedin_observed as (
    select
        {{ dbt.concat(["'apify:'", 'items.item_key']) }} as observation_key,
        'linkedin' as origin,
        items.profile_url,
        items.observed_at,
        items.loaded_at,
        case when items.observed_at < items.loaded_at then items.observed_at else items.loaded_at end as event_at,
        items.job_unique_id,
        items.dataset_id as source_ref,
        items.item_index,
        items.item_key,
        items.full_name_given,
        items.first_name_given,
        items.last_name_given,
        title_map.title,
        title_map.title_key,
        coalesce(title_map.title, employer_map.employer_name) is not null as has_current_position,
        {{ column_list('employer_map.{c}', o.employer_columns) }}
    from items
    left join title_map on items.title_given = title_map.title_given
    left join employer_map
        on
            coalesce(items.company_name_given, '') = employer_map.employer_name_match
            and coalesce(items.company_linkedin_url_given, '') = employer_map.employer_linkedin_url_match
            and employer_map.employer_website_given is null
    -- an item no staging rule understands says nothing about the position (no departure)
    where items.profile_url is not null and items.has_name and items.item_shape is distinct from 'unparsed'
),

intake_observed as (
    select
        {{ dbt.concat(["'intake:'", 'intake_rows.row_key']) }} as observation_key,
        'intake' as origin,
        intake_rows.profile_url,
        intake_rows.loaded_at as observed_at,
        intake_rows.loaded_at,
        intake_rows.loaded_at as event_at,
        cast(null as {{ o.text }}) as job_unique_id,
        intake_rows.source_file as source_ref,
        intake_rows.full_name as full_name_given,
        cast(null as {{ o.text }}) as first_name_given,
        cast(null as {{ o.text }}) as last_name_given,
        title_map.title,
        title_map.title_key,
        coalesce(
            intake_rows.title, intake_rows.employer_name, intake_rows.employer_website,
            intake_rows.employer_linkedin_url
        ) is not null as has_current_position,
        {{ column_list('employer_map.{c}', o.employer_columns) }}
    from intake_rows
    left join title_map on intake_rows.title = title_map.title_given
    left join employer_map
        on
            coalesce(intake_rows.employer_name, '') = employer_map.employer_name_match
            and coalesce(intake_rows.employer_linkedin_url, '') = employer_map.employer_linkedin_url_match
            and coalesce(intake_rows.employer_website, '') = employer_map.employer_website_match
    where intake_rows.profile_url is not null
)
{%- endmacro %}
