{#-
    Boolean: does `expr` match the regular expression `pattern_expr` (both SQL
    expressions), case-insensitively? Patterns are written in the common dialect (Python /
    Java / RE2): `\b` is a word boundary; each adapter translates what it must
    (PostgreSQL spells the word boundary `\y`).
-#}
{% macro regex_matches(expr, pattern_expr) -%}
    {{ return(adapter.dispatch('regex_matches', 'outreach')(expr, pattern_expr)) }}
{%- endmacro %}

{% macro default__regex_matches(expr, pattern_expr) -%}
    {{ exceptions.raise_compiler_error(
        "regex_matches has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__regex_matches") }}
{%- endmacro %}

{% macro postgres__regex_matches(expr, pattern_expr) -%}
    ({{ expr }} ~* replace({{ pattern_expr }}, '\b', '\y'))
{%- endmacro %}
