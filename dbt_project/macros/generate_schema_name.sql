{#-
    Published schemas are part of the public contract (company, people, marketing, bit):
    a model configured with a custom schema lands in exactly that schema, not in
    "<target schema>_<custom>" as dbt does by default. Models without one land in the
    target schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
