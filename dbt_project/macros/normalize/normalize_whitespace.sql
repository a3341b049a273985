{#-
    Trim and collapse runs of whitespace (incl. tabs, newlines, no-break spaces) to one
    space; empty -> null.
-#}
{% macro normalize_whitespace(expr) -%}
    {{ return(adapter.dispatch('normalize_whitespace', 'outreach')(expr)) }}
{%- endmacro %}

{% macro default__normalize_whitespace(expr) -%}
    {{ exceptions.raise_compiler_error(
        "normalize_whitespace has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__normalize_whitespace") }}
{%- endmacro %}

{% macro postgres__normalize_whitespace(expr) -%}
    nullif(trim(regexp_replace({{ expr }}, '[[:space:]\u00a0]+', ' ', 'g')), '')
{%- endmacro %}
