{#-
    A SELECT giving each title of `titles_relation` (column `title_column`) its seniority
    from seeds/title_seniority.csv: (title, title_normalized, level_rank, level_code,
    level_name, is_executive). The level is the highest whose pattern matches the
    normalised title (normalize_titles) and whose exclude_pattern does not; level 1 matches
    any title. Null titles get no row. Run it on distinct titles: the patterns are regular
    expressions.
-#}
{% macro title_seniority(titles_relation, title_column='title') -%}
    select
        ranked.title,
        ranked.title_normalized,
        levels.level_rank,
        levels.level_code,
        levels.level_name,
        levels.is_executive
    from (
        select
            titles.title,
            titles.title_normalized,
            max(patterns.level_rank) as level_rank
        from (
            {{ normalize_titles(titles_relation, title_column) }}
        ) as titles
        inner join {{ ref('title_seniority') }} as patterns
            on
                {{ regex_matches('titles.title_normalized', 'patterns.pattern') }}
                and not coalesce({{ regex_matches('titles.title_normalized', "nullif(patterns.exclude_pattern, '')") }}, false)
        group by titles.title, titles.title_normalized
    ) as ranked
    inner join {{ ref('title_seniority') }} as levels on ranked.level_rank = levels.level_rank
{%- endmacro %}
