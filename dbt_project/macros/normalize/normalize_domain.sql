{#-
    Website -> bare host: lowercase, without scheme, user info, "www." (or www2.),
    port, path, query, fragment and trailing dot.
    "HTTPS://WWW.Acme.com:443/about?x=1" -> "acme.com". Null unless the host has a dot.
-#}
{% macro normalize_domain(expr) -%}
    {{ return(adapter.dispatch('normalize_domain', 'outreach')(expr)) }}
{%- endmacro %}

{% macro default__normalize_domain(expr) -%}
    {{ exceptions.raise_compiler_error(
        "normalize_domain has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__normalize_domain") }}
{%- endmacro %}

{% macro postgres__normalize_domain(expr) -%}
    {%- set host -%}
        rtrim(substring(lower(trim({{ expr }}))
            from '^(?:[a-z][a-z0-9+.-]*://)?(?://)?(?:[^/?#@]*@)?(?:www[0-9]*\.)?([^/?#:[:space:]]+)'), '.')
    {%- endset -%}
    case when {{ host }} ~ '^[^.]+(\.[^.]+)+$' then {{ host }} end
{%- endmacro %}
