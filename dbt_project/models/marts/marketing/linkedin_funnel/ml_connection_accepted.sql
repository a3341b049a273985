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
        requests.sent_on as requested_on,
        requests.is_matured,
        requests.accepted_on,
        {{ connection_feature_columns() }},
        case when requests.accepted_on is not null then 1 else 0 end as accepted
    from requests
    inner join features
        on requests.account = features.account and requests.lead_id = features.lead_id
    left join context
        on requests.account = context.account and requests.lead_id = context.lead_id
)

select * from final
