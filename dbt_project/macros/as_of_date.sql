{#-
    "Today" of the models that depend on it (queues, renewal windows, signals): the dbt var
    `as_of` as a date. The var is a SQL expression (default `current_date`, evaluated when
    a view is queried, so queue views stay current without a rebuild) or a plain date
    (`--vars 'as_of: 2025-03-01'`, what tests pin), or a timestamp (`2025-03-01 12:00:00+00`,
    its date here; the monitoring models use the time too, see as_of_timestamp).
-#}
{% macro as_of_date() -%}
    {%- set value = var('as_of') | string | trim -%}
    {%- if modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        cast('{{ value }}' as date)
    {%- elif modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]', value) -%}
        cast('{{ value[:10] }}' as date)
    {%- else -%}
        cast({{ value }} as date)
    {%- endif -%}
{%- endmacro %}
