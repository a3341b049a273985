{#-
    A select of `day_offset` 0 .. 10^digits - 1 (cross-joined digits, no generate_series,
    so every adapter runs it): the day spine of the ads models.
-#}
{% macro ads_day_offsets(digits) -%}
    select
        {%- for i in range(digits) %}
        d{{ i }}.digit * {{ 10 ** i }}{{ " +" if not loop.last }}
        {%- endfor %} as day_offset
    from
        {%- for i in range(digits) %}
        (
            select 0 as digit union all select 1 union all select 2 union all select 3
            union all select 4 union all select 5 union all select 6 union all select 7
            union all select 8 union all select 9
        ) as d{{ i }}{{ "," if not loop.last }}
        {%- endfor %}
{%- endmacro %}
