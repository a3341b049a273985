{#-
    Barton IDs: "04.04.<kind>.<2 digits>.<5 digits>.<3 digits>", built from a persistent
    sequence number (1 .. 9,999,999,999) so they are unique and never change:
    seq 1 -> 04.04.01.00.00000.001. `kind` is the two-digit entity code
    (01 company, 02 person, 04 intelligence, 06 refresh job).
-#}
{% macro barton_id(kind, seq_expr) -%}
    {{ return(adapter.dispatch('barton_id', 'outreach')(kind, seq_expr)) }}
{%- endmacro %}

{% macro default__barton_id(kind, seq_expr) -%}
    '04.04.{{ kind }}.'
    || lpad(cast(({{ seq_expr }}) / 100000000 as {{ dbt.type_string() }}), 2, '0') || '.'
    || lpad(cast((({{ seq_expr }}) / 1000) % 100000 as {{ dbt.type_string() }}), 5, '0') || '.'
    || lpad(cast(({{ seq_expr }}) % 1000 as {{ dbt.type_string() }}), 3, '0')
{%- endmacro %}
