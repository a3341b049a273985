{#-
    A JSON object from (key, SQL expression) pairs: build_json_object([('a', 'col_a'), ...]).
    Values may be other build_json_object(...) calls for nesting. PostgreSQL: jsonb.
-#}
{% macro build_json_object(pairs) -%}
    {{ return(adapter.dispatch('build_json_object', 'outreach')(pairs)) }}
{%- endmacro %}

{% macro default__build_json_object(pairs) -%}
    {{ exceptions.raise_compiler_error(
        "build_json_object has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__build_json_object") }}
{%- endmacro %}

{% macro postgres__build_json_object(pairs) -%}
    jsonb_build_object(
        {%- for key, value in pairs %}
        '{{ key }}', {{ value }}{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}
