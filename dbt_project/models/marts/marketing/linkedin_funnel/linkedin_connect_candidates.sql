-- The profiles OpenOutreach could send a connection request to next: enriched, not yet
-- requested (current stage Enriched), with the same features as ml_connection_accepted.
-- The connect-queue scorer ranks them into marketing.connect_queue. created_at is the
-- lead's arrival (the order to fall back to when there is nothing to learn from).
with

deals as (
    select * from {{ ref('stg_openoutreach__deals') }}
    where current_state = 'enriched'
),

leads as (
    select * from {{ ref('stg_openoutreach__leads') }}
),

features as (
    select * from {{ ref('int_connection_profile_features') }}
),

context as (
    select * from {{ ref('int_connection_profile_context') }}
),

final as (
    select
        deals.account,
        deals.deal_id,
        deals.lead_id,
        leads.created_at,
        features.connection_degree,
        features.num_positions,
        features.num_educations,
        features.has_summary,
        features.headline_length,
        features.summary_length,
        features.has_industry,
        features.has_geo,
        features.has_location,
        features.has_company,
        features.num_distinct_companies,
        features.positions_with_description_ratio,
        features.num_position_locations,
        features.total_description_length,
        features.has_position_descriptions,
        features.is_currently_employed,
        features.avg_title_length,
        features.years_experience,
        features.current_position_tenure_months,
        features.avg_position_tenure_months,
        features.longest_tenure_months,
        features.has_education_degree,
        features.has_field_of_study,
        features.has_multiple_degrees,
        features.profile_text,
        context.linkedin_url as profile,
        context.had_recent_job_change,
        context.seniority_rank,
        context.company_in_renewal_window,
        context.has_verified_email
    from deals
    inner join leads on deals.account = leads.account and deals.lead_id = leads.lead_id
    inner join features
        on deals.account = features.account and deals.lead_id = features.lead_id
    left join context
        on deals.account = context.account and deals.lead_id = context.lead_id
)

select * from final
