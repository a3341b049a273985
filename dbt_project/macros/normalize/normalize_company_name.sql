{#-
    Company name -> matching key: lowercase; periods and apostrophes dropped ("S.A." ->
    "sa", "McDonald's" -> "mcdonalds"); other punctuation -> space; whitespace collapsed;
    trailing legal-form words removed ("Acme Holdings Pty. Ltd." -> "acme holdings",
    "Müller GmbH & Co. KG" -> "müller"). The first word always stays, so "Company" or
    "AB" alone are kept. Empty -> null.
-#}
{% macro company_legal_suffixes() -%}
    {{ return([
        'inc', 'incorporated', 'corp', 'corporation', 'co', 'company', 'llc', 'ltd', 'limited',
        'plc', 'gmbh', 'ag', 'sa', 'sarl', 'bv', 'nv', 'srl', 'spa', 'pty', 'oy', 'ab', 'as', 'kg',
    ]) }}
{%- endmacro %}

{% macro normalize_company_name(expr) -%}
    {{ return(adapter.dispatch('normalize_company_name', 'outreach')(expr)) }}
{%- endmacro %}

{% macro default__normalize_company_name(expr) -%}
    {{ exceptions.raise_compiler_error(
        "normalize_company_name has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__normalize_company_name") }}
{%- endmacro %}

{% macro postgres__normalize_company_name(expr) -%}
    {%- set dropped = "regexp_replace(lower(" ~ expr ~ "), '[.''’`]', '', 'g')" -%}
    {%- set spaced = "regexp_replace(" ~ dropped ~ ", '[[:punct:]–—“”«»]', ' ', 'g')" -%}
    {%- set collapsed = normalize_whitespace(spaced) -%}
    nullif(regexp_replace({{ collapsed }},
        '( ({{ company_legal_suffixes() | join("|") }}))+$', ''), '')
{%- endmacro %}
