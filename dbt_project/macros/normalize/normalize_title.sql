{#-
    Job titles as change detection compares them (docs/decisions.md "Change detection").

    normalize_titles(titles_relation, title_column): a SELECT giving each distinct non-null
    title of the relation
      title_normalized  the title spelled one way: lowercase; periods and apostrophes
                        dropped ("V.P." -> "vp", "Sr." -> "sr"); "&" -> "and"; any other
                        character that is not a letter or digit -> space; whitespace
                        collapsed; abbreviations written out word by word
                        (title_abbreviations: vp -> vice president, sr -> senior,
                        ceo -> chief executive officer, hr -> human resources, ...).
                        Seniority patterns (seeds/title_seniority.csv) match this form.
      title_key         the comparison key: title_normalized without the filler words
                        "of", "the", "for", "at", "and", so "VP of Sales", "VP, Sales" and
                        "Vice-President Sales" are one title. Word order still counts.
    A title with no letters or digits gets null for both. Set-based: titles are split into
    words, abbreviations joined in, words put back in order.
-#}
{% macro title_abbreviations() -%}
    {{ return([
        ('vp', 'vice president'),
        ('svp', 'senior vice president'),
        ('evp', 'executive vice president'),
        ('avp', 'assistant vice president'),
        ('sr', 'senior'),
        ('snr', 'senior'),
        ('jr', 'junior'),
        ('mgr', 'manager'),
        ('mngr', 'manager'),
        ('dir', 'director'),
        ('asst', 'assistant'),
        ('assoc', 'associate'),
        ('exec', 'executive'),
        ('mktg', 'marketing'),
        ('hr', 'human resources'),
        ('ops', 'operations'),
        ('gm', 'general manager'),
        ('cofounder', 'co founder'),
        ('ceo', 'chief executive officer'),
        ('cfo', 'chief financial officer'),
        ('coo', 'chief operating officer'),
        ('cto', 'chief technology officer'),
        ('cio', 'chief information officer'),
        ('cmo', 'chief marketing officer'),
        ('cro', 'chief revenue officer'),
        ('chro', 'chief human resources officer'),
        ('ciso', 'chief information security officer'),
    ]) }}
{%- endmacro %}

{% macro title_filler_words() -%}
    {{ return(['of', 'the', 'for', 'at', 'and']) }}
{%- endmacro %}

{% macro normalize_titles(titles_relation, title_column='title') -%}
    {{ return(adapter.dispatch('normalize_titles', 'outreach')(titles_relation, title_column)) }}
{%- endmacro %}

{% macro default__normalize_titles(titles_relation, title_column='title') -%}
    {{ exceptions.raise_compiler_error(
        "normalize_titles has no implementation for adapter " ~ adapter.type()
        ~ ": add " ~ adapter.type() ~ "__normalize_titles") }}
{%- endmacro %}

{% macro postgres__normalize_titles(titles_relation, title_column='title') -%}
    select
        cleaned.title,
        nullif(string_agg(coalesce(abbreviations.expansion, words.word), ' ' order by words.word_position), '')
            as title_normalized,
        nullif(
            string_agg(
                case
                    when words.word not in ('{{ title_filler_words() | join("', '") }}')
                        then coalesce(abbreviations.expansion, words.word)
                end,
                ' ' order by words.word_position
            ),
            ''
        ) as title_key
    from (
        select distinct
            {{ title_column }} as title,
            {{ normalize_whitespace(
                "regexp_replace(replace(regexp_replace(lower(" ~ title_column ~ "), '[.''’`]', '', 'g'), '&', ' and '), "
                ~ "'[^[:alnum:]]+', ' ', 'g')"
            ) }} as cleaned_title
        -- each distinct title once (the regular expressions run per title, not per row)
        from (
            select distinct {{ title_column }}
            from {{ titles_relation }}
            where {{ title_column }} is not null
        ) as distinct_titles
    ) as cleaned
    cross join lateral regexp_split_to_table(coalesce(cleaned.cleaned_title, ''), ' ')
        with ordinality as words (word, word_position)
    left join (
        values
        {%- for short, long in title_abbreviations() %}
        ('{{ short }}', '{{ long }}'){{ "," if not loop.last }}
        {%- endfor %}
    ) as abbreviations (abbreviation, expansion) on words.word = abbreviations.abbreviation
    group by cleaned.title
{%- endmacro %}
