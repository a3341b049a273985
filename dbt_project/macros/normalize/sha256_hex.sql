{#- Lowercase hex sha256 of a text's UTF-8 bytes: the form outreach.tombstones.sha256 writes
    (suppressions and GDPR tombstones keep addresses as this hash). -#}
{% macro sha256_hex(expr) -%}
    {{ return(adapter.dispatch('sha256_hex', 'outreach')(expr)) }}
{%- endmacro %}

{% macro default__sha256_hex(expr) -%}
    {{ exceptions.raise_compiler_error(
        "sha256_hex has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__sha256_hex") }}
{%- endmacro %}

{% macro postgres__sha256_hex(expr) -%}
    encode(sha256(convert_to({{ expr }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro spark__sha256_hex(expr) -%}
    sha2({{ expr }}, 256)
{%- endmacro %}
