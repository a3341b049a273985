-- Buyer-intent signals (published as bit.signal): the signal log with processed_at, the
-- first time the signal was delivered (raw_ops.signal_exports).
with

signals as (
    select
        signal_id,
        company_id,
        reason,
        payload,
        created_at
    from {{ ref('int_signal_keys') }}
),

exports as (
    select
        signal_id,
        min(exported_at) as processed_at
    from {{ ref('stg_ops__signal_exports') }}
    group by signal_id
),

final as (
    select
        signals.signal_id,
        signals.company_id,
        signals.reason,
        signals.payload,
        signals.created_at,
        exports.processed_at
    from signals
    left join exports on signals.signal_id = exports.signal_id
)

select * from final
