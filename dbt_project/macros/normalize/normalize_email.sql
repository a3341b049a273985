{#- Email addresses compare case-insensitively here: trim + lowercase; empty -> null. -#}
{% macro normalize_email(expr) -%}
    {{ return(adapter.dispatch('normalize_email', 'outreach')(expr)) }}
{%- endmacro %}

{% macro default__normalize_email(expr) -%}
    nullif(lower(trim({{ expr }})), '')
{%- endmacro %}
