{#- An ISO 8601 date or timestamp text as a timestamp with time zone: with an offset (Z,
    +02:00) it means that instant; without one (2026-11-30, 2026-11-30T14:00) it is read as
    UTC, whatever the session's time zone. -#}
{% macro iso_timestamp_utc(expr) -%}
    {{ return(adapter.dispatch('iso_timestamp_utc', 'outreach')(expr)) }}
{%- endmacro %}

{% macro default__iso_timestamp_utc(expr) -%}
    {{ exceptions.raise_compiler_error(
        "iso_timestamp_utc has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__iso_timestamp_utc") }}
{%- endmacro %}

{% macro postgres__iso_timestamp_utc(expr) -%}
    case
        when {{ expr }} ~ '([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$' then cast({{ expr }} as timestamp with time zone)
        else cast({{ expr }} as timestamp) at time zone 'UTC'
    end
{%- endmacro %}
