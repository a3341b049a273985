{#-
    LinkedIn profile/company URL -> canonical "https://www.linkedin.com/<kind>/<slug>"
    (kind: in, company, school, showcase): lowercase; scheme, "www." and country
    subdomains (uk., de., ...), sub-pages (/about, /details/...), query, fragment and
    trailing slash removed. Anything that is not such a LinkedIn URL -> null, so it can
    never become an identity key.
-#}
{% macro normalize_linkedin_url(expr) -%}
    {{ return(adapter.dispatch('normalize_linkedin_url', 'outreach')(expr)) }}
{%- endmacro %}

{% macro default__normalize_linkedin_url(expr) -%}
    {{ exceptions.raise_compiler_error(
        "normalize_linkedin_url has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__normalize_linkedin_url") }}
{%- endmacro %}

{#-
    PostgreSQL: the rule is the regular expression of linkedin_url_by_regex. Its captures
    make it slow (~25 us a call: 25 s per million rows), so URLs already written the way
    actors and most files write them - "https://www.linkedin.com/in/<slug>[/...]",
    "https://www.linkedin.com/company/<slug>[/...]" or "https://linkedin.com/in/<slug>[/...]",
    lowercase, with a slug of [a-z0-9%_.-] only - are cut with LIKE and split_part (~2 us);
    every other URL (other case, scheme, subdomain, kind, characters) goes through the
    regex. For those shapes both give the same answer: the host can only match one way and
    the slug ends at the next "/". The data test assert_linkedin_url_fast_path_matches_regex
    checks it on a battery of URL forms.
-#}
{% macro postgres__normalize_linkedin_url(expr) -%}
    {%- set slug = "split_part(" ~ expr ~ ", '/', 5)" -%}
    case
        {%- for prefix, kind in [
            ('https://www.linkedin.com/in/', 'in'),
            ('https://www.linkedin.com/company/', 'company'),
            ('https://linkedin.com/in/', 'in'),
        ] %}
        when {{ expr }} like '{{ prefix }}%' and {{ slug }} ~ '^[a-z0-9%_.-]+$'
            then 'https://www.linkedin.com/{{ kind }}/' || {{ slug }}
        {%- endfor %}
        else {{ linkedin_url_by_regex(expr) }}
    end
{%- endmacro %}

{#- The rule itself (PostgreSQL regular expression). -#}
{% macro linkedin_url_by_regex(expr) -%}
    'https://www.linkedin.com' || substring(lower(trim({{ expr }}))
        from '^(?:[a-z]+://)?(?:[a-z0-9-]+\.)*linkedin\.com(/(?:in|company|school|showcase)/[^/?#[:space:]]+)')
{%- endmacro %}
