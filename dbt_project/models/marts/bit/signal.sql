-- Buyer-intent signals (published as bit.signal): the signal log with processed_at, the
-- first time the outbox row that carries the signal was delivered (raw_ops.deliveries,
-- written by exports/outbox.py). An executive_movement travels as its change's PLE enqueue
-- message (marketing.ple_enqueue_outbox, target ple, outbox_id = the payload's
-- intel_unique_id). No outbox carries renewal_window_open_120d yet: its processed_at
-- stays null (docs/decisions.md, "Signals").
with

signals as (
    select
        signal_id,
        company_id,
        reason,
        payload,
        created_at,
        case
            when reason = 'executive_movement'
                then {{ json_text('payload', 'intel_unique_id') }}
        end as ple_outbox_id
    from {{ ref('int_signal_keys') }}
),

ple_deliveries as (
    select
        outbox_id,
        min(finished_at) as delivered_at
    from {{ ref('stg_ops__deliveries') }}
    where target = 'ple' and status = 'delivered'
    group by outbox_id
),

final as (
    select
        signals.signal_id,
        signals.company_id,
        signals.reason,
        signals.payload,
        signals.created_at,
        ple_deliveries.delivered_at as processed_at
    from signals
    left join ple_deliveries on signals.ple_outbox_id = ple_deliveries.outbox_id
)

select * from final
