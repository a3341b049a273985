{#- An open fetched by a mailbox provider's image proxy, not a person: Google's
    GoogleImageProxy (via ggpht.com), Yahoo's YahooMailProxy, and Apple Mail Privacy
    Protection's bare "Mozilla/5.0". Cross-database (lower + like). -#}
{% macro is_privacy_proxy_agent(expr) -%}
    coalesce(
        lower({{ expr }}) like '%googleimageproxy%'
        or lower({{ expr }}) like '%ggpht.com%'
        or lower({{ expr }}) like '%yahoomailproxy%'
        or trim({{ expr }}) = 'Mozilla/5.0',
        false
    )
{%- endmacro %}
