{#-
    "Now" of the monitoring models, as a timestamp with time zone, from the dbt var `as_of`:
    a plain date (`2026-03-01`) is its midnight UTC, a timestamp (`2026-03-01 12:00:00+00`)
    is itself, and the default `current_date` means the current time (so the monitoring
    views stay current without a rebuild). Any other value is a SQL expression.
-#}
{% macro as_of_timestamp() -%}
    {%- set value = var('as_of') | string | trim -%}
    {%- if modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        cast('{{ value }} 00:00:00+00' as {{ type_timestamptz() }})
    {%- elif modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9:.]+(Z|[+-][0-9:]+)?$', value) -%}
        cast('{{ value }}' as {{ type_timestamptz() }})
    {%- elif value | lower == 'current_date' -%}
        current_timestamp
    {%- else -%}
        cast({{ value }} as {{ type_timestamptz() }})
    {%- endif -%}
{%- endmacro %}

{#- `timestamp_expr` minus a duration held as text in `duration_expr` ('35 days', '1 hour'). -#}
{% macro minus_duration(timestamp_expr, duration_expr) -%}
    {{ return(adapter.dispatch('minus_duration', 'outreach')(timestamp_expr, duration_expr)) }}
{%- endmacro %}

{% macro default__minus_duration(timestamp_expr, duration_expr) -%}
    {{ exceptions.raise_compiler_error(
        "minus_duration has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__minus_duration") }}
{%- endmacro %}

{% macro postgres__minus_duration(timestamp_expr, duration_expr) -%}
    ({{ timestamp_expr }} - cast({{ duration_expr }} as interval))
{%- endmacro %}

{#- Seconds from `start_expr` to `end_expr` (timestamps), fractional. -#}
{% macro seconds_between(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('seconds_between', 'outreach')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro default__seconds_between(start_expr, end_expr) -%}
    {{ exceptions.raise_compiler_error(
        "seconds_between has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__seconds_between") }}
{%- endmacro %}

{% macro postgres__seconds_between(start_expr, end_expr) -%}
    cast(extract(epoch from ({{ end_expr }} - {{ start_expr }})) as {{ dbt.type_numeric() }})
{%- endmacro %}

{#-
    Errors per event, between 0 and 1: errors / events, where errors recorded without an
    event of their own (more errors than events) count as failed events, so the rate is
    errors / greatest(events, errors); null when there were neither.
-#}
{% macro ops_error_rate(events_expr, errors_expr) -%}
    cast(
        case
            when coalesce({{ errors_expr }}, 0) = 0 and coalesce({{ events_expr }}, 0) = 0 then null
            when coalesce({{ errors_expr }}, 0) > coalesce({{ events_expr }}, 0) then 1.0
            else 1.0 * coalesce({{ errors_expr }}, 0) / {{ events_expr }}
        end as {{ dbt.type_numeric() }}
    )
{%- endmacro %}

{#- An evidence key `<label>:<value as text>` ('none' for null) for the ops alert ids. -#}
{% macro ops_evidence_key(label, value_expr) -%}
    {{ dbt.concat([
        "'" ~ label ~ ":'",
        "coalesce(cast(" ~ value_expr ~ " as " ~ dbt.type_string() ~ "), 'none')",
    ]) }}
{%- endmacro %}
