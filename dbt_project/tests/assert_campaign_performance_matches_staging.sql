-- Fan-out guard: per campaign, the mart's sends, deliveries, human opens and clicks equal
-- independent counts of distinct sends over the staged email events.
with

staged as (
    select
        cast(campaign_ref as {{ dbt.type_bigint() }}) as campaign_id,
        count(distinct provider || '|' || coalesce(provider_message_id, '') || '|' || coalesce(email, ''))
            as sends,
        count(distinct case
            when provider_event_type in ('delivered', 'Delivery')
                then provider || '|' || coalesce(provider_message_id, '') || '|' || coalesce(email, '')
        end)
            as delivered
    from {{ ref('stg_events__email_events') }}
    where
        campaign_ref in (
            select cast(campaigns.campaign_id as {{ dbt.type_string() }}) from {{ ref('campaign') }} as campaigns
        )
    group by cast(campaign_ref as {{ dbt.type_bigint() }})
),

mart as (
    select
        campaign_id,
        sends,
        delivered
    from {{ ref('campaign_performance') }}
    where grain = 'campaign'
),

variants as (
    select
        campaign_id,
        sum(sends) as sends,
        sum(delivered) as delivered
    from {{ ref('campaign_performance') }}
    where grain = 'variant'
    group by campaign_id
)

select
    staged.campaign_id,
    staged.sends as staged_sends,
    mart.sends as mart_sends,
    variants.sends as variant_sends
from staged
full outer join mart on staged.campaign_id = mart.campaign_id
left join variants on coalesce(staged.campaign_id, mart.campaign_id) = variants.campaign_id
where
    staged.sends is distinct from mart.sends
    or staged.delivered is distinct from mart.delivered
    or variants.sends is distinct from mart.sends
    or variants.delivered is distinct from mart.delivered
