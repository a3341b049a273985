{#-
    Pre-hook of the change-detection models that process a whole refresh (a million rows
    and more) in one statement: session settings for this model's transaction only.
    PostgreSQL (`set local`, reset at commit):
      work_mem 512MB       the sorts, hashes and shared CTEs of a refresh stay in memory
                           (a million observations take ~300MB; the default 4MB or a
                           server's 32MB spill them to disk);
      maintenance_work_mem the index builds of a full refresh sort in memory;
      jit off              JIT compilation of these long queries costs more than it saves
                           (the planner's estimates of staged rows are far off);
      enable_mergejoin off every join here is a large stream against a small lookup (titles,
                           employers, key map) or a lookup by key: a hash join. With
                           estimates of staged rows far off, the planner otherwise sorts the
                           whole stream for a merge join.
    Other adapters: nothing.
-#}
{% macro bulk_model_settings() -%}
    {{ return(adapter.dispatch('bulk_model_settings', 'outreach')()) }}
{%- endmacro %}

{% macro default__bulk_model_settings() -%}
    select 1 as no_settings
{%- endmacro %}

{% macro postgres__bulk_model_settings() -%}
    set local work_mem = '512MB';
    set local maintenance_work_mem = '256MB';
    set local jit = off;
    set local enable_mergejoin = off
{%- endmacro %}
