-- OpenOutreach's training set (published as marketing.ml_connection_accepted): one row
-- per connection request with its 24 mechanical features under OpenOutreach's names and
-- profile_text, so its scorer can read it, labelled honestly: accepted = 1 when the
-- request was accepted, 0 when it stayed unanswered past var('pending_maturity_days');
-- younger unanswered requests are left out (undecided, not refusals), and so are requests
-- that failed to send. is_matured tells the young accepted ones apart: a learner should
-- train on matured rows only, or young acceptances tilt the labels. Our own features
-- follow (see int_connection_profile_context).
with

requests as (
    select * from {{ ref('int_connection_requests') }}
    where accepted_on is not null or (is_matured and failed_on is null)
),

features as (
    select * from {{ ref('int_connection_profile_features') }}
),

context as (
    select * from {{ ref('int_connection_profile_context') }}
),

final as (
    select
        requests.account,
        requests.deal_id,
        requests.lead_id,
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
        requests.sent_on as requested_on,
        requests.is_matured,
        requests.accepted_on,
        context.linkedin_url as profile,
        context.had_recent_job_change,
        context.seniority_rank,
        context.company_in_renewal_window,
        context.has_verified_email,
        case when requests.accepted_on is not null then 1 else 0 end as accepted
    from requests
    inner join features
        on requests.account = features.account and requests.lead_id = features.lead_id
    left join context
        on requests.account = context.account and requests.lead_id = context.lead_id
)

select * from final
