-- The LinkedIn connection funnel per OpenOutreach account and ISO week (published as
-- marketing.linkedin_connection_funnel). Stage counts are distinct profiles entering the
-- state that week (by the day of the change, on or before var('as_of')). Acceptance is per
-- request cohort (the week the request was sent): matured_requests are requests at least
-- var('pending_maturity_days') (default 21) old on as_of, accepted_matured those of them
-- accepted; acceptance_rate = accepted_matured / matured_requests (null with none matured),
-- so requests too young to have been answered never count as refusals. Time to accept is
-- over the cohort's accepted requests.
with

transitions as (
    select * from {{ ref('linkedin_connection_transitions') }}
    where at <= {{ as_of_date() }}
),

requests as (
    select * from {{ ref('int_connection_requests') }}
),

stage_weeks as (
    select
        account,
        cast({{ dbt.date_trunc('week', 'at') }} as date) as week_start,
        count(distinct case when to_state = 'discovered' then deal_id end) as discovered,
        count(distinct case when to_state = 'enriched' then deal_id end) as enriched,
        count(distinct case when to_state = 'pending' then deal_id end) as requests_sent,
        count(distinct case when to_state = 'connected' then deal_id end) as accepted,
        count(distinct case when to_state = 'completed' then deal_id end) as messaged,
        count(distinct case when to_state = 'failed' then deal_id end) as failed,
        count(distinct case when to_state = 'ignored' then deal_id end) as ignored
    from transitions
    group by account, cast({{ dbt.date_trunc('week', 'at') }} as date)
),

cohorts as (
    select
        account,
        cast({{ dbt.date_trunc('week', 'sent_on') }} as date) as week_start,
        sum(case when is_matured then 1 else 0 end) as matured_requests,
        sum(case when is_matured and accepted_on is not null then 1 else 0 end)
            as accepted_matured,
        sum(case when not is_matured and accepted_on is null then 1 else 0 end)
            as undecided_requests,
        {{ percentile_value('days_to_accept', 0.5) }} as days_to_accept_p50,
        {{ percentile_value('days_to_accept', 0.9) }} as days_to_accept_p90
    from requests
    group by account, cast({{ dbt.date_trunc('week', 'sent_on') }} as date)
),

final as (
    select
        stage_weeks.account,
        stage_weeks.week_start,
        stage_weeks.discovered,
        stage_weeks.enriched,
        stage_weeks.requests_sent,
        stage_weeks.accepted,
        stage_weeks.messaged,
        stage_weeks.failed,
        stage_weeks.ignored,
        coalesce(cohorts.matured_requests, 0) as matured_requests,
        coalesce(cohorts.accepted_matured, 0) as accepted_matured,
        coalesce(cohorts.undecided_requests, 0) as undecided_requests,
        cast(cohorts.accepted_matured as {{ dbt.type_numeric() }})
        / nullif(cohorts.matured_requests, 0) as acceptance_rate,
        cohorts.days_to_accept_p50,
        cohorts.days_to_accept_p90,
        {{ var('pending_maturity_days') }} as pending_maturity_days
    from stage_weeks
    left join cohorts
        on stage_weeks.account = cohorts.account and stage_weeks.week_start = cohorts.week_start
)

select * from final
