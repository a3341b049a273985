{#- The key of a company signal: '<reason>|company:<company_id>|<event>', the event as text
    (a date, a timestamp, a domain). The signal log emits one signal per key. -#}
{% macro company_signal_key(reason, company_id, event) -%}
    {{ dbt.concat([
        "'" ~ reason ~ "|company:'",
        "cast(" ~ company_id ~ " as " ~ dbt.type_string() ~ ")",
        "'|'",
        "cast(" ~ event ~ " as " ~ dbt.type_string() ~ ")",
    ]) }}
{%- endmacro %}
