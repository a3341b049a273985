{#-
    Trim and collapse runs of whitespace (incl. tabs, newlines, no-break spaces) to one
    space; empty -> null.
-#}
{% macro normalize_whitespace(expr) -%}
    {{ return(adapter.dispatch('normalize_whitespace', 'outreach')(expr)) }}
{%- endmacro %}

{% macro default__normalize_whitespace(expr) -%}
    {{ exceptions.raise_compiler_error(
        "normalize_whitespace has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__normalize_whitespace") }}
{%- endmacro %}

{#-
    PostgreSQL: regexp_replace costs ~3 us a call, and staging calls it on every column of
    every row. Most values are already in the normalised form; for a plain column that is
    printable ASCII words separated by single spaces (one regex match, ~1 us, the same in
    every locale: ASCII has no other space characters) the value itself is the answer.
    Other expressions are not repeated (they would be evaluated twice): regexp_replace only.
-#}
{% macro postgres__normalize_whitespace(expr) -%}
    {%- set replaced -%}
        nullif(trim(regexp_replace({{ expr }}, '[[:space:]\u00a0]+', ' ', 'g')), '')
    {%- endset -%}
    {%- if modules.re.match('^[A-Za-z_][A-Za-z0-9_]*([.][A-Za-z_][A-Za-z0-9_]*)?$', expr | trim) -%}
        case when {{ expr }} ~ '^[!-~]+( [!-~]+)*$' then {{ expr }} else {{ replaced }} end
    {%- else -%}
        {{ replaced }}
    {%- endif -%}
{%- endmacro %}

{#-
    Whether a text has anything but whitespace: exactly `normalize_whitespace(expr) is not
    null`, without building the normalised value (a trim instead of a regular expression).
    Whitespace is what normalize_whitespace collapses: [[:space:]] - in the C locale of the
    embedded server, space, tab, newline, vertical tab, form feed, carriage return - and
    no-break space.
-#}
{% macro has_visible_text(expr) -%}
    {{ return(adapter.dispatch('has_visible_text', 'outreach')(expr)) }}
{%- endmacro %}

{% macro default__has_visible_text(expr) -%}
    ({{ normalize_whitespace(expr) }} is not null)
{%- endmacro %}

{% macro postgres__has_visible_text(expr) -%}
    coalesce(btrim({{ expr }}, E' \t\n\r\x0b\x0c' || chr(160)) <> '', false)
{%- endmacro %}
