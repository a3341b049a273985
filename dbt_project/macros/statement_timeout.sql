{#-
    A model that legitimately needs longer than OUTREACH_STATEMENT_TIMEOUT (the limit of
    every statement of a build, outreach/warehouse.py) says so in its config:

        {{ config(pre_hook="{{ statement_timeout('1h') }}") }}

    The hook runs in the model's transaction, so the limit holds for that model only.
    Empty when `timeout` is none (and on adapters without statement_timeout).
-#}
{% macro statement_timeout(timeout) -%}
    {{ return(adapter.dispatch('statement_timeout', 'outreach')(timeout)) }}
{%- endmacro %}

{% macro default__statement_timeout(timeout) -%}
{%- endmacro %}

{% macro postgres__statement_timeout(timeout) -%}
    {%- if timeout is not none -%}
        {%- if not modules.re.match('^[0-9]+(\\.[0-9]+)?\\s*(us|ms|s|min|h|d)?$', timeout | string) -%}
            {{ exceptions.raise_compiler_error(
                "statement_timeout(" ~ timeout ~ ") in " ~ this ~ ": expected a duration such as '1h', '90min' or 0"
            ) }}
        {%- endif -%}
        set local statement_timeout = '{{ timeout }}'
    {%- endif -%}
{%- endmacro %}
