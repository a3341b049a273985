{#-
    LinkedIn Ads metrics and KPI evaluation, shared by the ads models (see
    models/intermediate/ads/_int_ads__models.yml for the rules and their unit tests).
-#}

{#-
    numerator / denominator as a decimal; null when the denominator is 0 (no division error).
    An integer numerator (counts) is cast to a decimal first; a decimal one (spend) is used
    as it is, so no digits are cut before dividing.
-#}
{% macro ads_ratio(numerator, denominator, factor=1, integer_numerator=true) -%}
    {%- if integer_numerator -%}
    cast({{ numerator }} as {{ dbt.type_numeric() }}) * {{ factor }} / nullif({{ denominator }}, 0)
    {%- else -%}
    {{ numerator }} * {{ factor }} / nullif({{ denominator }}, 0)
    {%- endif -%}
{%- endmacro %}


{#- A metric value for people: ratios (ctr, conversion_rate) in percent, the rest with 2 decimals. -#}
{% macro ads_format_metric(metric, value) -%}
    case
        when {{ metric }} in ('ctr', 'conversion_rate')
            then {{ dbt.concat(["cast(round(" ~ value ~ " * 100, 2) as " ~ dbt.type_string() ~ ")", "'%'"]) }}
        else cast(round({{ value }}, 2) as {{ dbt.type_string() }})
    end
{%- endmacro %}


{#- The value of `metric_column` (a metric name, e.g. from kpi_definitions) from window sums. -#}
{% macro ads_metric_value(metric_column, impressions, clicks, spend, conversions) -%}
    case {{ metric_column }}
        when 'impressions' then cast({{ impressions }} as {{ dbt.type_numeric() }})
        when 'clicks' then cast({{ clicks }} as {{ dbt.type_numeric() }})
        when 'spend' then {{ spend }}
        when 'conversions' then cast({{ conversions }} as {{ dbt.type_numeric() }})
        when 'ctr' then {{ ads_ratio(clicks, impressions) }}
        when 'cpc' then {{ ads_ratio(spend, clicks, integer_numerator=false) }}
        when 'cpm' then {{ ads_ratio(spend, impressions, 1000, integer_numerator=false) }}
        when 'conversion_rate' then {{ ads_ratio(conversions, clicks) }}
    end
{%- endmacro %}


{#-
    on_track / at_risk / breached / no_data of a KPI value. direction 'below': higher is
    better, breached strictly below the threshold; 'above': lower is better, breached
    strictly above it. Exactly at the threshold is at_risk, exactly at the target on_track.
-#}
{% macro kpi_status(value, target, threshold, direction) -%}
    case
        when {{ value }} is null then 'no_data'
        when {{ direction }} = 'below' and {{ value }} < {{ threshold }} then 'breached'
        when {{ direction }} = 'above' and {{ value }} > {{ threshold }} then 'breached'
        when {{ direction }} = 'below' and {{ value }} >= {{ target }} then 'on_track'
        when {{ direction }} = 'above' and {{ value }} <= {{ target }} then 'on_track'
        else 'at_risk'
    end
{%- endmacro %}


{#- The build's start time (dbt's run_started_at, UTC) as a timestamp with time zone literal. -#}
{% macro ads_run_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00' as {{ type_timestamptz() }})
{%- endmacro %}


{#- The same instant as fixed text (part of ids: independent of the session time zone). -#}
{% macro ads_run_started_at_text() -%}
    '{{ run_started_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ") }}'
{%- endmacro %}


{#-
    An exact decimal shown without trailing zeros (costs land as numeric(38, 20)).
    PostgreSQL: trim_scale (13+); elsewhere the value as it is.
-#}
{% macro ads_trim_decimal(expression) -%}
    {{ return(adapter.dispatch('ads_trim_decimal', 'outreach')(expression)) }}
{%- endmacro %}

{% macro default__ads_trim_decimal(expression) -%}
    {{ expression }}
{%- endmacro %}

{% macro postgres__ads_trim_decimal(expression) -%}
    trim_scale({{ expression }})
{%- endmacro %}


{#-
    The evaluations kpi_value_history logged before this build: the table itself on an
    incremental run, else an empty relation with the columns the model reads.
-#}
{% macro ads_logged_evaluations() -%}
    {%- if is_incremental() -%}
    {{ this }}
    {%- else -%}
    (select current_values.*, cast(null as {{ dbt.type_string() }}) as evaluation_id
    from {{ ref('kpi_current_values') }} as current_values where 1 = 0)
    {%- endif -%}
{%- endmacro %}
