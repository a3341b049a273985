{#-
    The signal log (schema keymap): every bit.signal ever emitted, keyed by the event it
    names (signal_key), with signal_id assigned once (max + 1, ordered by key) and the
    payload as it was when emitted. Append-only and never rebuilt, like the key maps:
    `full_refresh=false`, `on_schema_change='fail'`, the keymap advisory lock, a unique
    index on signal_key. A candidate whose key is already here is not emitted again, so
    a renewal window yields one signal per company and cycle however often dbt runs.
-#}
{{ keymap_config('signal_key') }}

{#- the log so far (empty on the first build) -#}
{%- set existing_signals -%}
    {%- if is_incremental() -%}
        select signal_key, signal_id from {{ this }}
    {%- else -%}
        select
            cast(null as {{ dbt.type_string() }}) as signal_key,
            cast(null as {{ dbt.type_bigint() }}) as signal_id
        where 1 = 0
    {%- endif -%}
{%- endset %}

with

candidates as (
    select
        signal_key,
        company_id,
        reason,
        payload
    from {{ ref('int_signal_candidates') }}
    where signal_key is not null
),

existing as (
    {{ existing_signals }}
),

max_existing as (
    select coalesce(max(signal_id), 0) as max_signal_id
    from existing
),

new_signals as (
    select
        candidates.signal_key,
        candidates.company_id,
        candidates.reason,
        candidates.payload
    from candidates
    left join existing on candidates.signal_key = existing.signal_key
    where existing.signal_key is null
),

final as (
    select
        new_signals.signal_key,
        new_signals.company_id,
        new_signals.reason,
        new_signals.payload,
        max_existing.max_signal_id
        + row_number() over (order by new_signals.signal_key) as signal_id,
        {{ dbt.current_timestamp() }} as created_at
    from new_signals
    cross join max_existing
)

select * from final
