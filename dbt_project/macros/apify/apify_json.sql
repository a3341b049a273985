{#-
    JSON helpers for the Apify staging models (raw_apify keeps items as jsonb). Each is an
    adapter.dispatch macro: PostgreSQL uses jsonb operators; another warehouse adds its own
    `<adapter>__apify_*` implementations (DESIGN.md "Scale-out path").
-#}

{#- The JSON type of the raw item columns. -#}
{% macro apify_type_json() -%}
    {{ return(adapter.dispatch('apify_type_json', 'outreach')()) }}
{%- endmacro %}

{% macro default__apify_type_json() -%}
    {{ exceptions.raise_compiler_error("apify_type_json: add " ~ adapter.type() ~ "__apify_type_json") }}
{%- endmacro %}

{% macro postgres__apify_type_json() -%}
    jsonb
{%- endmacro %}


{#- Text of a top-level key of a JSON object; null when absent or JSON null. -#}
{% macro apify_json_text(json_expr, key) -%}
    {{ return(adapter.dispatch('apify_json_text', 'outreach')(json_expr, key)) }}
{%- endmacro %}

{% macro default__apify_json_text(json_expr, key) -%}
    {{ exceptions.raise_compiler_error("apify_json_text: add " ~ adapter.type() ~ "__apify_json_text") }}
{%- endmacro %}

{% macro postgres__apify_json_text(json_expr, key) -%}
    ({{ json_expr }} ->> '{{ key }}')
{%- endmacro %}


{#-
    One row per element of the JSON array column `json_column` of `relation`:
    (<key_column>, entry_index 1-based, entry). Rows whose column is not an array, or an
    empty one, give no rows.
-#}
{% macro apify_json_array_elements(relation, key_column, json_column) -%}
    {{ return(adapter.dispatch('apify_json_array_elements', 'outreach')(relation, key_column, json_column)) }}
{%- endmacro %}

{% macro default__apify_json_array_elements(relation, key_column, json_column) -%}
    {{ exceptions.raise_compiler_error("apify_json_array_elements: add " ~ adapter.type() ~ "__apify_json_array_elements") }}
{%- endmacro %}

{% macro postgres__apify_json_array_elements(relation, key_column, json_column) -%}
    select
        src.{{ key_column }},
        cast(elements.entry_index as {{ dbt.type_bigint() }}) as entry_index,
        elements.entry
    from {{ relation }} as src
    cross join lateral jsonb_array_elements(
        case
            when jsonb_typeof(src.{{ json_column }}) = 'array' then src.{{ json_column }}
            else cast('[]' as jsonb)
        end
    ) with ordinality as elements (entry, entry_index)
{%- endmacro %}


{#-
    The source relation, or an empty typed relation while the loader has never run (so a
    fresh warehouse still builds). `columns` maps column name -> SQL type.
-#}
{% macro apify_source_or_empty(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {#- in a unit test, source() is a fixture CTE: no schema, nothing to look up -#}
    {%- if execute and relation.identifier is defined and relation.schema is not none
        and adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier
        ) is none -%}
        {%- set empty -%}
            (
                select
                {%- for name, type in columns.items() %}
                    cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
                {%- endfor %}
                where 1 = 0
            ) as empty_source
        {%- endset -%}
        {{ return(empty) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}



{#- Whether a JSON value is an array (false for null). -#}
{% macro apify_json_is_array(json_expr) -%}
    {{ return(adapter.dispatch('apify_json_is_array', 'outreach')(json_expr)) }}
{%- endmacro %}

{% macro default__apify_json_is_array(json_expr) -%}
    {{ exceptions.raise_compiler_error("apify_json_is_array: add " ~ adapter.type() ~ "__apify_json_is_array") }}
{%- endmacro %}

{% macro postgres__apify_json_is_array(json_expr) -%}
    coalesce(jsonb_typeof({{ json_expr }}) = 'array', false)
{%- endmacro %}

{#-
    A profile item's name from its given parts (stg_apify__profile_positions' *_given
    columns): fullName, else firstName + lastName; whitespace-normalised, null when empty.
-#}
{% macro apify_full_name(full_name, first_name, last_name) -%}
    coalesce(
        {{ normalize_whitespace(full_name) }},
        {{ normalize_whitespace(dbt.concat(["coalesce(" ~ first_name ~ ", '')", "' '", "coalesce(" ~ last_name ~ ", '')"])) }}
    )
{%- endmacro %}
