with

source as (
    select * from {{ source('openoutreach', 'crm_deal') }}
),

stages as (
    select * from {{ source('openoutreach', 'crm_stage') }}
),

renamed as (
    select
        source.account,
        cast(source.id as {{ dbt.type_bigint() }}) as deal_id,
        cast(source.lead_id as {{ dbt.type_bigint() }}) as lead_id,
        source.name as deal_name,
        source.ticket,
        lower(stages.name) as current_state,
        source.active as is_active,
        nullif(trim(source.next_step), '') as next_step,
        source.next_step_date,
        coalesce(source.stages_dates, '') as stages_dates,
        source.creation_date as created_at,
        source.update_date as updated_at,
        source.win_closing_date as won_at
    from source
    left join stages
        on source.account = stages.account and source.stage_id = stages.id
)

select * from renamed
