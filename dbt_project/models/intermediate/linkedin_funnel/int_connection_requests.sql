-- One row per connection request: an OpenOutreach deal that reached pending on or before
-- var('as_of'). sent_on is the first pending; accepted_on the first connected (or
-- completed, should connected be missing) after it; days_to_accept between them.
-- is_matured: the request is at least var('pending_maturity_days') (default 21) old, so an
-- unanswered one can count as a refusal; younger unanswered requests are undecided.
with

changes as (
    select * from {{ ref('int_connection_state_changes') }}
    where is_parsed and changed_on <= {{ as_of_date() }}
),

sent as (
    select
        account,
        deal_id,
        lead_id,
        min(seq) as sent_seq,
        min(changed_on) as sent_on
    from changes
    where state = 'pending'
    group by account, deal_id, lead_id
),

answered as (
    select
        sent.account,
        sent.deal_id,
        min(case when changes.state in ('connected', 'completed') then changes.changed_on end)
            as accepted_on,
        min(case when changes.state = 'completed' then changes.changed_on end) as messaged_on,
        min(case when changes.state = 'failed' then changes.changed_on end) as failed_on
    from sent
    inner join changes
        on
            sent.account = changes.account
            and sent.deal_id = changes.deal_id
            and sent.sent_seq < changes.seq
    group by sent.account, sent.deal_id
),

maturity as (
    select
        {{ dbt.dateadd('day', -1 * var('pending_maturity_days'), as_of_date()) }} as matured_if_sent_by
),

final as (
    select
        sent.account,
        sent.deal_id,
        sent.lead_id,
        sent.sent_on,
        answered.accepted_on,
        answered.messaged_on,
        answered.failed_on,
        -- dbt.datediff compiles to one long line
        {{ dbt.datediff('sent.sent_on', 'answered.accepted_on', 'day') }} as days_to_accept,  -- noqa: LT05
        sent.sent_on <= maturity.matured_if_sent_by as is_matured
    from sent
    cross join maturity
    left join answered
        on sent.account = answered.account and sent.deal_id = answered.deal_id
)

select * from final
