{#-
    Boolean: `expr` is one of the values `subquery_sql` (a SELECT of one column) returns.
    Plain SQL says `expr in (subquery)`; PostgreSQL turns that into a semi-join, which it
    cannot push into a view below a window function, so a filter on a staging view would
    run after the view has been computed over every raw row. `expr = any(array(subquery))`
    is evaluated once (an init plan) and pushed down like a constant - through window
    functions partitioned by `expr` - to the raw table. Incremental models use it to read
    only new rows of a staging view.
-#}
{% macro in_subquery(expr, subquery_sql) -%}
    {{ return(adapter.dispatch('in_subquery', 'outreach')(expr, subquery_sql)) }}
{%- endmacro %}

{% macro default__in_subquery(expr, subquery_sql) -%}
    {{ expr }} in ({{ subquery_sql }})
{%- endmacro %}

{% macro postgres__in_subquery(expr, subquery_sql) -%}
    {{ expr }} = any(array({{ subquery_sql }}))
{%- endmacro %}
