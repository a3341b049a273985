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
