{#-
    JSON and text helpers of the OpenOutreach models (PostgreSQL implementations; another
    adapter adds its own). `profile_json_parse` turns crm_lead.description (JSON text, ''
    before enrichment) into a JSON value, null when empty or not an object.
-#}
{% macro profile_json_parse(expr) -%}
    {{ return(adapter.dispatch('profile_json_parse', 'outreach')(expr)) }}
{%- endmacro %}

{% macro postgres__profile_json_parse(expr) -%}
    case when left(btrim({{ expr }}), 1) = '{' then cast({{ expr }} as jsonb) end
{%- endmacro %}

{#- The text at a key path ('summary', 'industry.name'), null when absent or JSON null. -#}
{% macro json_text_at(json_expr, path) -%}
    {{ return(adapter.dispatch('json_text_at', 'outreach')(json_expr, path)) }}
{%- endmacro %}

{% macro postgres__json_text_at(json_expr, path) -%}
    ({{ json_expr }} #>> '{ {{- path.split('.') | join(',') -}} }')
{%- endmacro %}

{#- Number of elements of the array at `key` (0 when absent or not an array). -#}
{% macro json_array_size(json_expr, key) -%}
    {{ return(adapter.dispatch('json_array_size', 'outreach')(json_expr, key)) }}
{%- endmacro %}

{% macro postgres__json_array_size(json_expr, key) -%}
    case
        when jsonb_typeof({{ json_expr }} -> '{{ key }}') = 'array'
            then jsonb_array_length({{ json_expr }} -> '{{ key }}')
        else 0
    end
{%- endmacro %}

{#- A join clause giving one row per element of the array at `key`: `alias.item`. -#}
{% macro join_json_array_items(json_expr, key, alias) -%}
    {{ return(adapter.dispatch('join_json_array_items', 'outreach')(json_expr, key, alias)) }}
{%- endmacro %}

{% macro postgres__join_json_array_items(json_expr, key, alias) -%}
    cross join lateral jsonb_array_elements(
        case
            when jsonb_typeof({{ json_expr }} -> '{{ key }}') = 'array'
                then {{ json_expr }} -> '{{ key }}'
            else '[]'::jsonb
        end
    ) as {{ alias }} (item)
{%- endmacro %}

{#- A join clause giving one row per line of a text: `alias.line`, `alias.line_no` (1..n). -#}
{% macro join_text_lines(expr, alias) -%}
    {{ return(adapter.dispatch('join_text_lines', 'outreach')(expr, alias)) }}
{%- endmacro %}

{% macro postgres__join_text_lines(expr, alias) -%}
    cross join lateral unnest(string_to_array({{ expr }}, chr(10)))
        with ordinality as {{ alias }} (line, line_no)
{%- endmacro %}

{#- The p-th (0..1) continuous percentile of `expr` within a group. -#}
{% macro percentile_value(expr, p) -%}
    {{ return(adapter.dispatch('percentile_value', 'outreach')(expr, p)) }}
{%- endmacro %}

{% macro postgres__percentile_value(expr, p) -%}
    percentile_cont({{ p }}) within group (order by {{ expr }})
{%- endmacro %}
