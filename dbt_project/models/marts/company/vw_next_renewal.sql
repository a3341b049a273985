{{ config(materialized='view') }}
-- Every company with a renewal month: its next renewal date on or after as_of and the
-- day its outreach window opens (renewal_notice_window_days before, 120 by default).
with

renewals as (
    select
        company_id,
        company_name,
        next_renewal_date,
        campaign_window_start
    from {{ ref('int_company_renewals') }}
),

final as (
    select
        company_id,
        company_name,
        next_renewal_date,
        campaign_window_start
    from renewals
)

select * from final
