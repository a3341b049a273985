{#-
    Incremental strategy `conditional_merge` (config incremental_strategy='conditional_merge'):
    MERGE the new rows into the table by `unique_key` - a key not there yet is inserted, a
    key that is there is updated only when the model's config `merge_update_condition`
    holds (SQL over the aliases `source`, the new row, and `target`, the row kept). One
    pass over the new rows: no delete of the rows replaced, no read-back of the rows kept
    to rank them against the new ones (int_person_observation_states: the state with the
    higher rank wins). MERGE is SQL:2003 (PostgreSQL 15+, Snowflake, BigQuery, Databricks).
-#}
{% macro get_incremental_conditional_merge_sql(arg_dict) -%}
    {%- set target_relation = arg_dict['target_relation'] -%}
    {%- set source_relation = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set condition = config.get('merge_update_condition') -%}
    {%- if unique_key is not string or condition is none -%}
        {{ exceptions.raise_compiler_error(
            "conditional_merge needs one unique_key column and a merge_update_condition (model "
            ~ model.name ~ ")") }}
    {%- endif -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | list -%}
    merge into {{ target_relation }} as target
    using {{ source_relation }} as source
    on target.{{ adapter.quote(unique_key) }} = source.{{ adapter.quote(unique_key) }}
    when matched and ({{ condition }}) then update set
        {%- for column in columns if column != adapter.quote(unique_key) %}
        {{ column }} = source.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    when not matched then insert ({{ columns | join(', ') }})
    values ({% for column in columns %}source.{{ column }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
