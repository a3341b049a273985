{#-
    A page URL (e.g. a company's news page) in a form two writers of the same URL agree
    on: trimmed, lowercase, without scheme, "www." and trailing slashes.
    "HTTPS://www.Acme.com/News/" -> "acme.com/news". Empty -> null.
-#}
{% macro normalize_page_url(expr) -%}
    {{ return(adapter.dispatch('normalize_page_url', 'outreach')(expr)) }}
{%- endmacro %}

{% macro default__normalize_page_url(expr) -%}
    {{ exceptions.raise_compiler_error(
        "normalize_page_url has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__normalize_page_url") }}
{%- endmacro %}

{% macro postgres__normalize_page_url(expr) -%}
    nullif(
        regexp_replace(lower(trim({{ expr }})), '^([a-z][a-z0-9+.-]*://)?(www[0-9]*\.)?|/+$', '', 'g'),
        ''
    )
{%- endmacro %}
