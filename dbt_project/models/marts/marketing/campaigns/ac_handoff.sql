{{ config(materialized='view') }}
-- Hand-offs to account management (published as marketing.ac_handoff), from
-- `outreach handoff` (raw_campaigns.handoffs, append-only).
with

handoffs as (
    select
        handoff_id,
        company_id,
        contact_id,
        notes,
        created_at
    from {{ ref('stg_campaigns__handoffs') }}
),

final as (
    select
        handoff_id,
        company_id,
        contact_id,
        notes,
        created_at
    from handoffs
)

select * from final
