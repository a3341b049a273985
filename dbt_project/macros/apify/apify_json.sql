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
    A sortable text for a date-ish key of an experience entry: "YYYY-MM[-DD]" strings as
    given, {"year": 2021, "month": 3} objects as "2021-03"; null when absent.
-#}
{% macro apify_json_date_key(json_expr, key) -%}
    {{ return(adapter.dispatch('apify_json_date_key', 'outreach')(json_expr, key)) }}
{%- endmacro %}

{% macro default__apify_json_date_key(json_expr, key) -%}
    {{ exceptions.raise_compiler_error("apify_json_date_key: add " ~ adapter.type() ~ "__apify_json_date_key") }}
{%- endmacro %}

{% macro postgres__apify_json_date_key(json_expr, key) -%}
    case jsonb_typeof({{ json_expr }} -> '{{ key }}')
        when 'object' then
            lpad(coalesce({{ json_expr }} -> '{{ key }}' ->> 'year', '0'), 4, '0')
            || '-'
            || lpad(coalesce({{ json_expr }} -> '{{ key }}' ->> 'month', '1'), 2, '0')
        when 'string' then nullif(trim({{ json_expr }} ->> '{{ key }}'), '')
        when 'number' then {{ json_expr }} ->> '{{ key }}'
    end
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



{#-
    The experience entry that gives an item its position, as a lateral join adding
    `<alias>.entry` (the entry JSON), `<alias>.entry_index` (1-based) and
    `<alias>.is_current` (no endDate: null, empty or "Present"): the current entry with
    the latest startDate (see apify_json_date_key), then the first in array order; if none
    is current, the first entry (is_current false). No entry (not an array, or empty):
    all three null. Per item, with no sort over all entries: a filter on the item's
    columns still reaches the raw table.
-#}
{% macro apify_json_position_entry_join(json_expr, alias) -%}
    {{ return(adapter.dispatch('apify_json_position_entry_join', 'outreach')(json_expr, alias)) }}
{%- endmacro %}

{% macro default__apify_json_position_entry_join(json_expr, alias) -%}
    {{ exceptions.raise_compiler_error("apify_json_position_entry_join: add " ~ adapter.type() ~ "__apify_json_position_entry_join") }}
{%- endmacro %}

{% macro postgres__apify_json_position_entry_join(json_expr, alias) -%}
    left join lateral (
        select
            entries.entry,
            entries.entry_index,
            entries.is_current
        from (
            select
                elements.entry,
                cast(elements.entry_index as {{ dbt.type_bigint() }}) as entry_index,
                coalesce(lower({{ normalize_whitespace(apify_json_text('elements.entry', 'endDate')) }}), 'present')
                = 'present' as is_current,
                coalesce({{ apify_json_date_key('elements.entry', 'startDate') }}, '') as start_key
            from jsonb_array_elements(
                case
                    when jsonb_typeof({{ json_expr }}) = 'array' then {{ json_expr }}
                    else cast('[]' as jsonb)
                end
            ) with ordinality as elements (entry, entry_index)
            -- a gating filter: no array, no work (most items are flat)
            where jsonb_typeof({{ json_expr }}) = 'array'
        ) as entries
        order by entries.is_current desc, entries.start_key desc, entries.entry_index asc
        limit 1
    ) as {{ alias }} on true
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
