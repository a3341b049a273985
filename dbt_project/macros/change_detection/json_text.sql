{#- Text of a top-level key of a JSON column; null when absent or JSON null. -#}
{% macro json_text(json_expr, key) -%}
    {{ return(adapter.dispatch('json_text', 'outreach')(json_expr, key)) }}
{%- endmacro %}

{% macro default__json_text(json_expr, key) -%}
    {{ exceptions.raise_compiler_error(
        "json_text has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__json_text") }}
{%- endmacro %}

{% macro postgres__json_text(json_expr, key) -%}
    ({{ json_expr }} ->> '{{ key }}')
{%- endmacro %}

{#- Text at a path of keys / array indexes in a JSON column (['mail', 'tags', 'x', '0']). -#}
{% macro json_path_text(json_expr, path) -%}
    {{ return(adapter.dispatch('json_path_text', 'outreach')(json_expr, path)) }}
{%- endmacro %}

{% macro default__json_path_text(json_expr, path) -%}
    {{ exceptions.raise_compiler_error(
        "json_path_text has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__json_path_text") }}
{%- endmacro %}

{% macro postgres__json_path_text(json_expr, path) -%}
    ({{ json_expr }} #>> '{{ "{" ~ path | join(",") ~ "}" }}')
{%- endmacro %}
