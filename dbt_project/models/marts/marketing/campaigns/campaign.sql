{{ config(materialized='view') }}
-- Campaigns (published as marketing.campaign): one row per campaign created with
-- `outreach campaign create`; updated_at is its latest membership change. A view over the
-- app-owned raw tables: current without a build, and nothing a rebuild could lose.
with

campaigns as (
    select
        campaign_id,
        campaign_name,
        created_at
    from {{ ref('stg_campaigns__campaigns') }}
),

last_changes as (
    select
        campaign_id,
        max(changed_at) as last_changed_at
    from {{ ref('stg_campaigns__campaign_changes') }}
    group by campaign_id
),

final as (
    select
        campaigns.campaign_id,
        campaigns.campaign_name as name,  -- noqa: RF04
        campaigns.created_at,
        coalesce(last_changes.last_changed_at, campaigns.created_at) as updated_at
    from campaigns
    left join last_changes on campaigns.campaign_id = last_changes.campaign_id
)

select * from final
