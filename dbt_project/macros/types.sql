{#- A timestamp with time zone (the published marts use timestamptz on PostgreSQL). -#}
{% macro type_timestamptz() -%}
    {{ return(adapter.dispatch('type_timestamptz', 'outreach')()) }}
{%- endmacro %}

{% macro default__type_timestamptz() -%}
    {{ dbt.type_timestamp() }}
{%- endmacro %}

{% macro postgres__type_timestamptz() -%}
    timestamp with time zone
{%- endmacro %}
