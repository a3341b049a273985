{#-
    The intelligence key map (schema keymap): every detected change (event_key, the
    observation that showed it) -> intel_seq, from which people_intelligence.intel_unique_id
    (Barton 04.04.04.*) is built. Append-only and never rebuilt, like the other key maps:
    `full_refresh=false` keeps `dbt build --full-refresh` from renumbering, a change that is
    detected again after a rebuild finds its key, new ones get current max + row_number()
    (by detection time, then key); the keymap advisory lock serialises concurrent runs.
    assigned_at is when the change was first published (people_intelligence.created_at).
-#}
{{ keymap_config('event_key') }}

{%- set existing_keys -%}
    {%- if is_incremental() -%}
        select event_key, intel_seq from {{ this }}
    {%- else -%}
        select event_key, cast(null as {{ dbt.type_bigint() }}) as intel_seq from changes where 1 = 0
    {%- endif -%}
{%- endset %}

with

changes as (
    select
        event_key,
        detected_at
    from {{ ref('int_person_changes') }}
),

existing as (
    {{ existing_keys }}
),

max_existing as (
    select coalesce(max(intel_seq), 0) as max_intel_seq
    from existing
),

new_changes as (
    select
        changes.event_key,
        changes.detected_at
    from changes
    left join existing on changes.event_key = existing.event_key
    where existing.event_key is null
),

final as (
    select
        new_changes.event_key,
        max_existing.max_intel_seq
        + row_number() over (order by new_changes.detected_at, new_changes.event_key) as intel_seq,
        {{ dbt.current_timestamp() }} as assigned_at
    from new_changes
    cross join max_existing
)

select * from final
