with

source as (
    select * from {{ source('linkedin_ads', 'campaigns') }}
),

renamed as (
    select
        campaign_id,
        account_id,
        name as campaign_name,
        status as campaign_status,
        type as campaign_type,
        cost_type,
        objective_type,
        campaign_group_id,
        cast(daily_budget_amount as {{ dbt.type_numeric() }}) as daily_budget_amount,
        daily_budget_currency,
        cast(run_schedule_start as {{ type_timestamptz() }}) as run_schedule_start,
        cast(run_schedule_end as {{ type_timestamptz() }}) as run_schedule_end,
        cast(created_at as {{ type_timestamptz() }}) as created_at,
        cast(last_modified_at as {{ type_timestamptz() }}) as last_modified_at,
        _loaded_at as loaded_at
    from source
)

select * from renamed
