{#-
    A SELECT of one value: about how many rows `relation` has, for decisions taken at
    compile time (int_person_observations: index lookups or one hash join). PostgreSQL:
    the planner's estimate (pg_class.reltuples, kept by ANALYZE, autovacuum and index
    builds; a count when the table was never analysed) - a count(*) of a million-row table
    costs ~0.15 s of every build. Elsewhere: count(*).
-#}
{% macro relation_row_estimate(relation) -%}
    {{ return(adapter.dispatch('relation_row_estimate', 'outreach')(relation)) }}
{%- endmacro %}

{% macro default__relation_row_estimate(relation) -%}
    select count(*) from {{ relation }}
{%- endmacro %}

{% macro postgres__relation_row_estimate(relation) -%}
    select
        case
            when tables.reltuples >= 0 then cast(tables.reltuples as bigint)
            else (select count(*) from {{ relation }})
        end
    from pg_class as tables
    where tables.oid = cast('{{ relation.include(database=false) }}' as regclass)
{%- endmacro %}

{#-
    Whether `rows` new rows are few enough against a table of `table_rows` (an estimate) to
    be looked up one by one in its index rather than by one hash of the whole table: fewer
    than a tenth. Used by int_person_observations (the states lookup) and conditional_merge.
-#}
{% macro index_lookups_pay(rows, table_rows) -%}
    {{ return(rows * 10 < table_rows) }}
{%- endmacro %}
