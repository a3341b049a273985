{#-
    The configuration every persistent key map shares (schema keymap: int_company_keys,
    int_person_keys, int_intelligence_keys, int_signal_keys), called once at the top of
    each: `{{ keymap_config('alias_key') }}`. Append-only and never rebuilt:
    `full_refresh=false` keeps `dbt build --full-refresh` from renumbering, and
    `on_schema_change='fail'` keeps a column change from silently rewriting the map. The
    pre-hook (keymap_lock) serialises concurrent runs; a unique index on `key_column`
    backs the model's `unique` test on PostgreSQL.
-#}
{% macro keymap_config(key_column) -%}
    {{ config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='fail',
        schema='keymap',
        pre_hook="{{ keymap_lock() }}",
        indexes=[{'columns': [key_column], 'unique': True}],
    ) }}
{%- endmacro %}

{#-
    Pre-hook of the key maps: serialise concurrent runs that append to the same key map,
    so two runs can never both hand out "max + 1". Runs inside the model's transaction,
    before the new rows are computed; released at commit. PostgreSQL: a transaction-level
    advisory lock. Other adapters: none (add one where the warehouse allows concurrent
    runs of the same model).
-#}
{% macro keymap_lock() -%}
    {{ return(adapter.dispatch('keymap_lock', 'outreach')()) }}
{%- endmacro %}

{% macro default__keymap_lock() -%}
    select 1 as no_lock
{%- endmacro %}

{% macro postgres__keymap_lock() -%}
    select pg_advisory_xact_lock(hashtext('outreach keymap {{ this }}'))
{%- endmacro %}
