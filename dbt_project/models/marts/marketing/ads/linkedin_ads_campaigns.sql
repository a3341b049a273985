with

campaigns as (
    select * from {{ ref('stg_linkedin_ads__campaigns') }}
),

accounts as (
    select * from {{ ref('stg_linkedin_ads__accounts') }}
),

final as (
    select
        cast(campaigns.campaign_id as {{ dbt.type_string() }}) as campaign_id,
        cast(campaigns.campaign_name as {{ dbt.type_string() }}) as campaign_name,
        cast(campaigns.campaign_status as {{ dbt.type_string() }}) as campaign_status,
        cast(campaigns.campaign_type as {{ dbt.type_string() }}) as campaign_type,
        cast(campaigns.objective_type as {{ dbt.type_string() }}) as objective_type,
        cast(campaigns.cost_type as {{ dbt.type_string() }}) as cost_type,
        cast(campaigns.campaign_group_id as {{ dbt.type_string() }}) as campaign_group_id,
        cast(campaigns.account_id as {{ dbt.type_string() }}) as account_id,
        cast(accounts.account_name as {{ dbt.type_string() }}) as account_name,
        cast(accounts.currency as {{ dbt.type_string() }}) as currency,
        campaigns.daily_budget_amount,
        campaigns.run_schedule_start,
        campaigns.run_schedule_end,
        campaigns.created_at,
        campaigns.last_modified_at,
        campaigns.loaded_at
    from campaigns
    left join accounts on campaigns.account_id = accounts.account_id
)

select * from final
