{#-
    Normalisation maps of int_person_observations: titles and employers are normalised once
    per distinct value as given, and observations join the map (a million observations of a
    refresh have a few thousand distinct titles and employers).
-#}

{#-
    `titles_relation` (column title, distinct, as given) -> (title_given, title: whitespace
    normalised, title_key: normalize_titles).
-#}
{% macro observation_title_map(titles_relation) -%}
    select
        titles.title as title_given,
        {{ normalize_whitespace('titles.title') }} as title,
        titles.title_key
    from ({{ normalize_titles(titles_relation) }}) as titles
{%- endmacro %}

{#-
    `employers_relation` (columns employer_name, employer_linkedin_url, employer_website as
    given, distinct) -> the same as *_given (and as *_match: '' for null), plus
    employer_name (whitespace normalised), employer_linkedin_url (canonical),
    employer_domain, employer_name_key (without legal suffixes) and employer_company_id:
    the tracked company (marketing.company_master) the
    employer resolves to by LinkedIn page, then website domain, then normalised name, by
    every identity form the company ever had (the company key map).
-#}
{% macro observation_employer_map(employers_relation) -%}
    {%- set tracked_company_aliases -%}
        select
            company_keys.alias_key,
            company_keys.company_seq as company_id
        from {{ ref('int_company_keys') }} as company_keys
        where company_keys.company_seq in (select companies.company_id from {{ ref('company_master') }} as companies)
    {%- endset -%}
    {#- normalised once per employer (a materialised CTE: in a subquery the planner would
        copy the expressions into every join condition using them) -#}
    with employers as {{ materialized_cte() }} (
        select
            given.employer_name as employer_name_given,
            given.employer_linkedin_url as employer_linkedin_url_given,
            given.employer_website as employer_website_given,
            {{ normalize_whitespace('given.employer_name') }} as employer_name,
            {{ normalize_linkedin_url('given.employer_linkedin_url') }} as employer_linkedin_url,
            {{ normalize_domain(normalize_whitespace('given.employer_website')) }} as employer_domain,
            {{ normalize_company_name(normalize_whitespace('given.employer_name')) }} as employer_name_key
        from {{ employers_relation }} as given
        where coalesce(given.employer_name, given.employer_linkedin_url, given.employer_website) is not null
    )

    select
        employers.employer_name_given,
        employers.employer_linkedin_url_given,
        employers.employer_website_given,
        -- the given values with '' for null: the keys an observation joins the map by
        -- (`coalesce(x, '') = employer_name_match ...`; a coalesce on both sides of a hash
        -- join is evaluated again for every match and doubles its cost)
        coalesce(employers.employer_name_given, '') as employer_name_match,
        coalesce(employers.employer_linkedin_url_given, '') as employer_linkedin_url_match,
        coalesce(employers.employer_website_given, '') as employer_website_match,
        employers.employer_name,
        employers.employer_linkedin_url,
        employers.employer_domain,
        employers.employer_name_key,
        coalesce(by_linkedin.company_id, by_domain.company_id, by_name.company_id) as employer_company_id
    from employers
    -- one copy of the key map per lookup, so each join sees its unique index
    left join ({{ tracked_company_aliases }}) as by_linkedin
        on {{ dbt.concat(["'li:'", 'employers.employer_linkedin_url']) }} = by_linkedin.alias_key
    left join ({{ tracked_company_aliases }}) as by_domain
        on {{ dbt.concat(["'dom:'", 'employers.employer_domain']) }} = by_domain.alias_key
    left join ({{ tracked_company_aliases }}) as by_name
        on {{ dbt.concat(["'name:'", 'employers.employer_name_key']) }} = by_name.alias_key
{%- endmacro %}

{#-
    int_person_observation_states (the profiles' comparison states, kept by the model
    downstream of int_person_observations), for the fast path of int_person_observations:
    none when it does not exist yet, in a unit test (its fixtures stand for this model's own
    table only), or with the var change_detection_fast_path false (every observation then
    takes the history path: slower, the same rows - tested).
-#}
{% macro observation_states_relation() -%}
    {%- if not execute or not var('change_detection_fast_path', true) or this is string or this.schema is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_person_observation_states'
    )) }}
{%- endmacro %}

{#- `materialized` for a CTE that must be computed once (PostgreSQL 12+); elsewhere nothing. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'outreach')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}
{%- endmacro %}

{% macro postgres__materialized_cte() -%}
    materialized
{%- endmacro %}
