-- Each company's next renewal and its outreach window, relative to var('as_of'):
-- next_renewal_date is the first day of renewal_month on or after as_of (next year's when
-- this year's has passed), the window opens renewal_notice_window_days before it and
-- stays open through the renewal day. Companies without a renewal_month have none.
with

companies as (
    select
        company_id,
        company_name,
        renewal_month,
        renewal_notice_window_days
    from {{ ref('company') }}
    where renewal_month is not null
),

as_of as (
    select
        {{ as_of_date() }} as as_of_date,
        cast({{ dbt.date_trunc('month', as_of_date()) }} as date) as as_of_month_start,
        cast(extract(month from {{ as_of_date() }}) as {{ dbt.type_int() }}) as as_of_month
),

this_cycle as (
    select
        companies.company_id,
        companies.company_name,
        companies.renewal_month,
        companies.renewal_notice_window_days,
        as_of.as_of_date,
        -- the first day of renewal_month in the 12 months starting this month
        cast(
            {{ dbt.dateadd(
                'month',
                'mod(companies.renewal_month - as_of.as_of_month + 12, 12)',
                'as_of.as_of_month_start'
            ) }} as date
        ) as renewal_candidate
    from companies
    cross join as_of
),

next_renewals as (
    select
        company_id,
        company_name,
        renewal_month,
        renewal_notice_window_days,
        as_of_date,
        case
            -- this month's first day is behind us: the renewal is next year's
            when renewal_candidate < as_of_date
                then cast({{ dbt.dateadd('month', 12, 'renewal_candidate') }} as date)
            else renewal_candidate
        end as next_renewal_date
    from this_cycle
),

windows as (
    select
        company_id,
        company_name,
        renewal_month,
        renewal_notice_window_days,
        as_of_date,
        next_renewal_date,
        cast(
            {{ dbt.dateadd('day', '-1 * renewal_notice_window_days', 'next_renewal_date') }} as date
        ) as campaign_window_start
    from next_renewals
),

final as (
    select
        company_id,
        company_name,
        renewal_month,
        renewal_notice_window_days,
        next_renewal_date,
        campaign_window_start,
        as_of_date,
        as_of_date >= campaign_window_start and as_of_date <= next_renewal_date as is_window_open
    from windows
)

select * from final
