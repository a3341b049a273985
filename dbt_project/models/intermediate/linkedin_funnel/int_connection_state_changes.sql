-- One row per state an OpenOutreach deal was put in, in order (seq): its creation at
-- discovered (DjangoCRM writes no line for it), each parsable line of stages_dates
-- ("YYYY-MM-DD - <Stage name>"), and the current stage when the last line does not show it
-- (a stage changed in the admin, which writes no line). Lines that do not parse are kept
-- with is_parsed false and no state, so they can be counted, never silently lost.
with

deals as (
    select * from {{ ref('stg_openoutreach__deals') }}
),

created as (
    select
        account,
        deal_id,
        lead_id,
        0 as seq,
        cast(created_at as date) as changed_on,
        'discovered' as state,
        'deal_created' as origin,
        true as is_parsed
    from deals
),

lines as (
    select
        deals.account,
        deals.deal_id,
        deals.lead_id,
        cast(l.line_no as {{ dbt.type_int() }}) as seq,
        trim(l.line) as line_text
    from deals
    {{ join_text_lines('deals.stages_dates', 'l') }}
    where trim(l.line) <> ''
),

parsed as (
    select
        account,
        deal_id,
        lead_id,
        seq,
        case
            when {{ regex_matches('line_text', "'^[0-9]{4}-[0-9]{2}-[0-9]{2} - .+'") }}
                then cast(left(line_text, 10) as date)
        end as changed_on,
        case
            when {{ regex_matches('line_text', "'^[0-9]{4}-[0-9]{2}-[0-9]{2} - .+'") }}
                then lower(trim(substr(line_text, 14)))
        end as state,
        'stages_dates' as origin,
        {{ regex_matches('line_text', "'^[0-9]{4}-[0-9]{2}-[0-9]{2} - .+'") }} as is_parsed
    from lines
),

known as (
    select * from created
    union all
    select * from parsed
    where is_parsed
),

last_parsed as (
    select
        account,
        deal_id,
        max(seq) as last_seq
    from known
    group by account, deal_id
),

last_state as (
    select
        known.account,
        known.deal_id,
        known.seq,
        known.state
    from known
    inner join last_parsed
        on
            known.account = last_parsed.account
            and known.deal_id = last_parsed.deal_id
            and known.seq = last_parsed.last_seq
),

current_stage as (
    select
        deals.account,
        deals.deal_id,
        deals.lead_id,
        last_state.seq + 1000 as seq,
        cast(deals.updated_at as date) as changed_on,
        deals.current_state as state,
        'current_stage' as origin,
        true as is_parsed
    from deals
    inner join last_state
        on deals.account = last_state.account and deals.deal_id = last_state.deal_id
    where deals.current_state is not null and deals.current_state <> last_state.state
),

final as (
    select * from created
    union all
    select * from parsed
    union all
    select * from current_stage
)

select * from final
