{#-
    The standard normal CDF, Phi(x), in portable SQL (exp, sqrt, abs only): erf by
    Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7), Phi(x) = (1 + erf(x / sqrt 2)) / 2, so
    Phi is within 7.5e-8 of the exact value. tests/test_ab_tests.py compares every
    statistic built on it with scipy.stats. normal_pdf(x) is the density.
-#}
{% macro normal_cdf(x) -%}
    (0.5 + 0.5 * sign({{ x }}) * (1 - (
        0.254829592 * {{ _as_t(x) }}
        - 0.284496736 * power({{ _as_t(x) }}, 2)
        + 1.421413741 * power({{ _as_t(x) }}, 3)
        - 1.453152027 * power({{ _as_t(x) }}, 4)
        + 1.061405429 * power({{ _as_t(x) }}, 5)
    ) * exp(-({{ x }}) * ({{ x }}) / 2.0)))
{%- endmacro %}

{% macro _as_t(x) -%}
    (1.0 / (1.0 + 0.3275911 * abs({{ x }}) / sqrt(2.0)))
{%- endmacro %}

{% macro normal_pdf(x) -%}
    (exp(-({{ x }}) * ({{ x }}) / 2.0) / sqrt(2.0 * 3.141592653589793))
{%- endmacro %}
