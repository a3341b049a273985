{#-
    Post-hook of the intermediate models (dbt_project.yml): a table or incremental model is
    analysed as soon as it is built, so the models built after it in the same run are
    planned on its real statistics, never on whatever autovacuum happened to see (a key
    map analysed mid-life once made company_slot re-run a view per contact: docs/decisions.md,
    "Plans that do not depend on autovacuum"). Views: nothing to analyse.
-#}
{% macro analyze_relation() -%}
    {{ return(adapter.dispatch('analyze_relation', 'outreach')()) }}
{%- endmacro %}

{% macro default__analyze_relation() -%}
{%- endmacro %}

{% macro postgres__analyze_relation() -%}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
