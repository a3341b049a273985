{#-
    JSON arrays for payloads (build_json_object builds the objects). PostgreSQL: jsonb.
    json_array_agg(value_expr, order_by): aggregate the values of a group into an array,
    in `order_by` order. json_empty_array(): the empty array (for groups with no rows).
-#}
{% macro json_array_agg(value_expr, order_by) -%}
    {{ return(adapter.dispatch('json_array_agg', 'outreach')(value_expr, order_by)) }}
{%- endmacro %}

{% macro default__json_array_agg(value_expr, order_by) -%}
    {{ exceptions.raise_compiler_error(
        "json_array_agg has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__json_array_agg") }}
{%- endmacro %}

{% macro postgres__json_array_agg(value_expr, order_by) -%}
    jsonb_agg({{ value_expr }} order by {{ order_by }})
{%- endmacro %}

{% macro json_empty_array() -%}
    {{ return(adapter.dispatch('json_empty_array', 'outreach')()) }}
{%- endmacro %}

{% macro default__json_empty_array() -%}
    {{ exceptions.raise_compiler_error(
        "json_empty_array has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__json_empty_array") }}
{%- endmacro %}

{% macro postgres__json_empty_array() -%}
    cast('[]' as jsonb)
{%- endmacro %}

{#- The JSON type of payload columns. -#}
{% macro type_json() -%}
    {{ return(adapter.dispatch('type_json', 'outreach')()) }}
{%- endmacro %}

{% macro default__type_json() -%}
    {{ exceptions.raise_compiler_error(
        "type_json has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__type_json") }}
{%- endmacro %}

{% macro postgres__type_json() -%}
    jsonb
{%- endmacro %}

{#- A from-clause fragment: one row per element of the JSON array at `path` (a list of keys)
    of `json_expr`, as `alias`.value; no rows when the path is absent or not an array.
    Use as `from t {{ json_array_elements_at('t.payload', ['a', 'b'], 'item') }}`. -#}
{% macro json_array_elements_at(json_expr, path, alias) -%}
    {{ return(adapter.dispatch('json_array_elements_at', 'outreach')(json_expr, path, alias)) }}
{%- endmacro %}

{% macro default__json_array_elements_at(json_expr, path, alias) -%}
    {{ exceptions.raise_compiler_error(
        "json_array_elements_at has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__json_array_elements_at") }}
{%- endmacro %}

{% macro postgres__json_array_elements_at(json_expr, path, alias) -%}
    {%- set at = "(" ~ json_expr ~ " #> '{" ~ path | join(",") ~ "}')" -%}
    cross join lateral jsonb_array_elements(
        case when jsonb_typeof({{ at }}) = 'array' then {{ at }} else cast('[]' as jsonb) end
    ) as {{ alias }} (value)
{%- endmacro %}
