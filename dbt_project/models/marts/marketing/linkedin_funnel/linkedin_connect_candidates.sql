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
        {{ connection_feature_columns() }}
    from deals
    inner join leads on deals.account = leads.account and deals.lead_id = leads.lead_id
    inner join features
        on deals.account = features.account and deals.lead_id = features.lead_id
    left join context
        on deals.account = context.account and deals.lead_id = context.lead_id
)

select * from final
