-- One row per enriched OpenOutreach lead: OpenOutreach's 24 mechanical features under its
-- own names (analytics/models/marts/ml_connection_accepted.sql, linkedin/ml/scorer.py
-- MECHANICAL_FEATURES) and its lowercased profile_text. Position dates are fractional
-- years (year + month / 12, January when the month is missing); a position without an end
-- is current and ends at var('as_of') (OpenOutreach uses the current date).
with

leads as (
    select * from {{ ref('stg_openoutreach__leads') }}
    where profile_json is not null
),

as_of as (
    select
        extract(year from {{ as_of_date() }})
        + extract(month from {{ as_of_date() }}) / 12.0 as as_of_frac
),

positions as (
    select
        leads.account,
        leads.lead_id,
        nullif({{ json_text_at('p.item', 'title') }}, '') as title,
        nullif({{ json_text_at('p.item', 'company_name') }}, '') as company_name,
        nullif({{ json_text_at('p.item', 'location') }}, '') as position_location,
        nullif({{ json_text_at('p.item', 'description') }}, '') as description,
        case when {{ json_text_at('p.item', 'end_year') }} is null then 1 else 0 end as is_current,
        cast({{ json_text_at('p.item', 'start_year') }} as {{ dbt.type_numeric() }})
        + coalesce(cast({{ json_text_at('p.item', 'start_month') }} as {{ dbt.type_numeric() }}), 1)
        / 12.0 as start_frac,
        coalesce(
            cast({{ json_text_at('p.item', 'end_year') }} as {{ dbt.type_numeric() }})
            + coalesce(cast({{ json_text_at('p.item', 'end_month') }} as {{ dbt.type_numeric() }}), 1) / 12.0,
            as_of.as_of_frac
        ) as end_frac
    from leads
    cross join as_of
    {{ join_json_array_items('leads.profile_json', 'positions', 'p') }}
),

position_aggs as (
    select
        account,
        lead_id,
        count(distinct company_name) as num_distinct_companies,
        avg(case when description is not null then 1.0 else 0.0 end)
            as positions_with_description_ratio,
        count(distinct position_location) as num_position_locations,
        sum(coalesce(length(description), 0)) as total_description_length,
        max(case when description is not null then 1 else 0 end) as has_position_descriptions,
        max(is_current) as is_currently_employed,
        avg(coalesce(length(title), 0)) as avg_title_length,
        coalesce(max(end_frac) - min(start_frac), 0) as years_experience,
        coalesce(
            (
                max(case when is_current = 1 then end_frac end)
                - max(case when is_current = 1 then start_frac end)
            ) * 12, 0
        ) as current_position_tenure_months,
        avg(case when start_frac is not null then (end_frac - start_frac) * 12 end)
            as avg_position_tenure_months,
        max(case when start_frac is not null then (end_frac - start_frac) * 12 end)
            as longest_tenure_months,
        {{ dbt.listagg("concat_ws(' ', title, company_name, position_location, description)", "' '") }}
            as positions_text
    from positions
    group by account, lead_id
),

educations as (
    select
        leads.account,
        leads.lead_id,
        nullif({{ json_text_at('e.item', 'school_name') }}, '') as school_name,
        nullif({{ json_text_at('e.item', 'degree') }}, '') as degree,
        nullif({{ json_text_at('e.item', 'field_of_study') }}, '') as field_of_study
    from leads
    {{ join_json_array_items('leads.profile_json', 'educations', 'e') }}
),

education_aggs as (
    select
        account,
        lead_id,
        max(case when degree is not null then 1 else 0 end) as has_education_degree,
        max(case when field_of_study is not null then 1 else 0 end) as has_field_of_study,
        case when sum(case when degree is not null then 1 else 0 end) > 1 then 1 else 0 end
            as has_multiple_degrees,
        {{ dbt.listagg("concat_ws(' ', school_name, degree, field_of_study)", "' '") }}
            as educations_text
    from educations
    group by account, lead_id
),

profiles as (
    select
        leads.account,
        leads.lead_id,
        leads.headline,
        leads.company_name,
        nullif({{ json_text_at('leads.profile_json', 'summary') }}, '') as summary_text,
        nullif({{ json_text_at('leads.profile_json', 'location_name') }}, '') as location_name,
        nullif({{ json_text_at('leads.profile_json', 'industry.name') }}, '') as industry_name,
        nullif({{ json_text_at('leads.profile_json', 'geo.defaultLocalizedNameWithoutCountryName') }}, '')
            as geo_name,
        cast({{ json_text_at('leads.profile_json', 'connection_degree') }} as {{ dbt.type_int() }})
            as connection_degree,
        {{ json_array_size('leads.profile_json', 'positions') }} as num_positions,
        {{ json_array_size('leads.profile_json', 'educations') }} as num_educations
    from leads
),

final as (
    select
        profiles.account,
        profiles.lead_id,
        profiles.connection_degree,
        profiles.num_positions,
        profiles.num_educations,
        case when profiles.summary_text is not null then 1 else 0 end as has_summary,
        coalesce(length(profiles.headline), 0) as headline_length,
        coalesce(length(profiles.summary_text), 0) as summary_length,
        case when profiles.industry_name is not null then 1 else 0 end as has_industry,
        case when profiles.geo_name is not null then 1 else 0 end as has_geo,
        case when profiles.location_name is not null then 1 else 0 end as has_location,
        case when profiles.company_name is not null then 1 else 0 end as has_company,
        coalesce(pa.num_distinct_companies, 0) as num_distinct_companies,
        coalesce(pa.positions_with_description_ratio, 0) as positions_with_description_ratio,
        coalesce(pa.num_position_locations, 0) as num_position_locations,
        coalesce(pa.total_description_length, 0) as total_description_length,
        coalesce(pa.has_position_descriptions, 0) as has_position_descriptions,
        coalesce(pa.is_currently_employed, 0) as is_currently_employed,
        coalesce(pa.avg_title_length, 0) as avg_title_length,
        coalesce(pa.years_experience, 0) as years_experience,
        coalesce(pa.current_position_tenure_months, 0) as current_position_tenure_months,
        coalesce(pa.avg_position_tenure_months, 0) as avg_position_tenure_months,
        coalesce(pa.longest_tenure_months, 0) as longest_tenure_months,
        coalesce(ea.has_education_degree, 0) as has_education_degree,
        coalesce(ea.has_field_of_study, 0) as has_field_of_study,
        coalesce(ea.has_multiple_degrees, 0) as has_multiple_degrees,
        lower(concat_ws(
            ' ', profiles.headline, profiles.summary_text, profiles.location_name,
            profiles.industry_name, pa.positions_text, ea.educations_text
        )) as profile_text
    from profiles
    left join position_aggs as pa
        on profiles.account = pa.account and profiles.lead_id = pa.lead_id
    left join education_aggs as ea
        on profiles.account = ea.account and profiles.lead_id = ea.lead_id
)

select * from final
