{#-
    LinkedIn profile/company URL -> canonical "https://www.linkedin.com/<kind>/<slug>"
    (kind: in, company, school, showcase). The same rule as the Python
    outreach.tombstones.canonical_linkedin_url (tombstones, erase scans, intake, Apify
    import); tests/test_bounded_input.py runs both on the same variants. ASCII whitespace
    around it is ignored and ASCII letters lowercased; scheme, "www." and country
    subdomains (uk., de., ...), a port, sub-pages (/about, /details/...), query, fragment
    and trailing slash are removed; the slug is percent-decoded where that gives an
    unreserved character (%2D -> "-") and every other byte is written %xx in lowercase hex
    ("jürgen" and "j%C3%BCrgen" -> "j%c3%bcrgen"). Anything that is not such a LinkedIn URL
    -> null, so it can never become an identity key; so is an input longer than 4096
    characters or a canonical URL longer than 1000 (keys must fit a btree index row).
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
    PostgreSQL: the rule is linkedin_url_by_regex (a regular expression, then the slug
    token by token). It is slow (~25-60 us a call), so URLs already written the way actors
    and most files write them - "https://www.linkedin.com/in/<slug>[/...]",
    "https://www.linkedin.com/company/<slug>[/...]" or "https://linkedin.com/in/<slug>[/...]",
    lowercase, with a slug of [a-z0-9_.-] and lowercase %xx of non-ASCII bytes only (nothing
    to decode or encode) - are cut with
    LIKE and split_part (~2 us); every other URL (other case, scheme, subdomain, kind,
    percent-encoding, other characters) goes through the rule. For those shapes both give
    the same answer: the host can only match one way and the slug ends at the next "/". The
    data test assert_linkedin_url_fast_path_matches_regex checks it on a battery of URL forms.
-#}
{% macro postgres__normalize_linkedin_url(expr) -%}
    {%- set slug = "split_part(" ~ expr ~ ", '/', 5)" -%}
    case
        when length({{ expr }}) > {{ linkedin_url_max_input() }}
            and length(btrim({{ expr }}, {{ linkedin_url_whitespace() }})) > {{ linkedin_url_max_input() }}
            then null
        {%- for prefix, kind in [
            ('https://www.linkedin.com/in/', 'in'),
            ('https://www.linkedin.com/company/', 'company'),
            ('https://linkedin.com/in/', 'in'),
        ] %}
        when {{ expr }} like '{{ prefix }}%' and {{ slug }} ~ '^(?:[a-z0-9_.-]|%[89a-f][0-9a-f])+$'
            and length({{ slug }}) <= {{ linkedin_url_max_length() - ('https://www.linkedin.com/' ~ kind ~ '/') | length }}
            then 'https://www.linkedin.com/{{ kind }}/' || {{ slug }}
        {%- endfor %}
        else {{ linkedin_url_by_regex(expr) }}
    end
{%- endmacro %}

{#- Limits shared with outreach.tombstones (MAX_LINKEDIN_INPUT, MAX_LINKEDIN_URL). -#}
{% macro linkedin_url_max_input() %}4096{% endmacro %}
{% macro linkedin_url_max_length() %}{{ return(1000) }}{% endmacro %}
{#- ASCII whitespace; \x0b is the vertical tab (E'' strings have no \v) -#}
{% macro linkedin_url_whitespace() %}E' \t\n\r\f\x0b'{% endmacro %}

{#-
    The rule itself (PostgreSQL): match kind and slug on the trimmed, ASCII-lowercased URL
    (translate, not lower(): lower() of non-ASCII letters depends on the database's locale),
    then, unless it is already canonical, rewrite the slug token by token - "%xx" of an unreserved byte (0-9 A-Z a-z - . _ ~)
    becomes that character (lowercased), any other "%xx" stays; an unreserved character
    stays; any other character becomes its UTF-8 bytes as "%xx".
-#}
{% macro linkedin_url_by_regex(expr) -%}
    (
        select case when length(canonical.url) <= {{ linkedin_url_max_length() }} then canonical.url end
        from (
            select
                'https://www.linkedin.com/' || matched.parts[1] || '/' || case
                    -- nothing to decode or encode (the common case): as it is
                    when matched.parts[2] ~ '^(?:[a-z0-9._~-]|%[89a-f][0-9a-f])+$' then matched.parts[2]
                    else (
                    select
                        string_agg(
                            case
                                when tokens.tok[1] is null and tokens.tok[2] ~ '^[a-z0-9._~-]$'
                                    then tokens.tok[2]
                                when tokens.tok[1] is null
                                    then regexp_replace(
                                        encode(convert_to(tokens.tok[2], 'UTF8'), 'hex'), '(..)', '%\1', 'g'
                                    )
                                when byte.v between 65 and 90 then chr(byte.v + 32)
                                when byte.v between 97 and 122 or byte.v between 48 and 57
                                    or byte.v in (45, 46, 95, 126)
                                    then chr(byte.v)
                                else '%' || tokens.tok[1]
                            end,
                            '' order by tokens.n
                        )
                    from regexp_matches(matched.parts[2], '%([0-9a-f]{2})|(.)', 'g')
                        with ordinality as tokens (tok, n)
                    cross join lateral (select get_byte(decode(tokens.tok[1], 'hex'), 0) as v) as byte
                ) end as url
            from (
                select regexp_match(
                    translate(trimmed.url, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
                    '^(?:[a-z]+://)?(?:[a-z0-9-]+\.)*linkedin\.com(?::[0-9]{1,5})?/(in|company|school|showcase)/([^/?# \t\n\r\f\v]+)'
                ) as parts
                from (select btrim({{ expr }}, {{ linkedin_url_whitespace() }}) as url) as trimmed
                where length(trimmed.url) <= {{ linkedin_url_max_input() }}
                offset 0  -- keeps the match computed once, not once per reference
            ) as matched
            offset 0
        ) as canonical
    )
{%- endmacro %}
