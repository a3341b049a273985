{{ config(meta={'dagster': {'ref': {'name': 'company_slot'}}}) }}
-- Every company has exactly three slots, one per role (CEO, CFO, HR); none is missing.
with

companies as (
    select company_id from {{ ref('company') }}
),

slots as (
    select
        company_id,
        role_code
    from {{ ref('company_slot') }}
),

slot_counts as (
    select
        companies.company_id,
        count(slots.role_code) as n_slots,
        count(distinct slots.role_code) as n_roles
    from companies
    left join slots on companies.company_id = slots.company_id
    group by companies.company_id
),

final as (
    select
        company_id,
        n_slots,
        n_roles
    from slot_counts
    where n_slots != 3 or n_roles != 3
)

select * from final
