{#-
    The current position of a profile item that lists its jobs in an array: the item shapes
    of loaders/apify_linkedin/README.md "Item shapes" (docs/decisions.md "Apify item
    shapes"). Each is an adapter.dispatch macro (DESIGN.md "Scale-out path").
-#}

{#- The value of a top-level key of a JSON object (JSON, not text); null when absent. -#}
{% macro apify_json_value(json_expr, key) -%}
    {{ return(adapter.dispatch('apify_json_value', 'outreach')(json_expr, key)) }}
{%- endmacro %}

{% macro default__apify_json_value(json_expr, key) -%}
    {{ exceptions.raise_compiler_error("apify_json_value: add " ~ adapter.type() ~ "__apify_json_value") }}
{%- endmacro %}

{% macro postgres__apify_json_value(json_expr, key) -%}
    ({{ json_expr }} -> '{{ key }}')
{%- endmacro %}


{#- Whether a JSON object has a top-level key (even with a JSON null); false for null. -#}
{% macro apify_json_has_key(json_expr, key) -%}
    {{ return(adapter.dispatch('apify_json_has_key', 'outreach')(json_expr, key)) }}
{%- endmacro %}

{% macro default__apify_json_has_key(json_expr, key) -%}
    {{ exceptions.raise_compiler_error("apify_json_has_key: add " ~ adapter.type() ~ "__apify_json_has_key") }}
{%- endmacro %}

{% macro postgres__apify_json_has_key(json_expr, key) -%}
    coalesce(jsonb_typeof({{ json_expr }}) = 'object' and {{ json_expr }} ? '{{ key }}', false)
{%- endmacro %}


{#-
    Whether an end date (a JSON value) leaves the role open. Ended only when it names a
    year: a number, a string with a 4-digit year ("2025-12", "Dec 2025"), or an object
    whose `year` or `text` has one - unless its text says "Present" / "Current". So null,
    "", "Present", {"text": "Present"}, {} and words we cannot read ("Heute") are open: a
    departure is only claimed from a date that says when the job ended.
-#}
{% macro apify_json_date_is_open(value_expr) -%}
    {{ return(adapter.dispatch('apify_json_date_is_open', 'outreach')(value_expr)) }}
{%- endmacro %}

{% macro default__apify_json_date_is_open(value_expr) -%}
    {{ exceptions.raise_compiler_error("apify_json_date_is_open: add " ~ adapter.type() ~ "__apify_json_date_is_open") }}
{%- endmacro %}

{% macro postgres__apify_json_date_is_open(value_expr) -%}
    case jsonb_typeof({{ value_expr }})
        when 'object' then
            lower(trim(coalesce({{ value_expr }} ->> 'text', ''))) in ('present', 'current')
            or not (
                coalesce({{ value_expr }} ->> 'year', '') ~ '[0-9]{4}'
                or coalesce({{ value_expr }} ->> 'text', '') ~ '[0-9]{4}'
            )
        when 'string' then
            lower(trim({{ value_expr }} #>> '{}')) in ('present', 'current')
            or ({{ value_expr }} #>> '{}') !~ '[0-9]{4}'
        when 'number' then false
        else true
    end
{%- endmacro %}


{#-
    A sortable "YYYY-MM" for a start date (a JSON value): strings that start with a year
    ("1986-09", ISO timestamps) as given; {"year": 2021, "month": 3 | "3" | "Mar" | "March"}
    objects, and texts such as "Mar 2021" (an object's `text` too), from their year and
    English month name or abbreviation (month 01 when there is none); a number is a year.
    Null without a year.
-#}
{% macro apify_json_date_sort_key(value_expr) -%}
    {{ return(adapter.dispatch('apify_json_date_sort_key', 'outreach')(value_expr)) }}
{%- endmacro %}

{% macro default__apify_json_date_sort_key(value_expr) -%}
    {{ exceptions.raise_compiler_error("apify_json_date_sort_key: add " ~ adapter.type() ~ "__apify_json_date_sort_key") }}
{%- endmacro %}

{#- postgres: the month number (01-12) of the first English month name in a text, else null -#}
{% macro _apify_postgres_month(text_expr) -%}
    {%- set found -%}
        position(lower(substring({{ text_expr }} from '[A-Za-z]{3}')) in 'janfebmaraprmayjunjulaugsepoctnovdec')
    {%- endset -%}
    case when {{ found }} % 3 = 1 then lpad(cast(({{ found }} + 2) / 3 as text), 2, '0') end
{%- endmacro %}

{% macro postgres__apify_json_date_sort_key(value_expr) -%}
    {%- set as_text = '(' ~ value_expr ~ " #>> '{}')" -%}
    {%- set year = "coalesce(substring(" ~ value_expr ~ " ->> 'year' from '[0-9]{4}'), substring("
        ~ value_expr ~ " ->> 'text' from '[0-9]{4}'))" -%}
    {%- set month = value_expr ~ " ->> 'month'" -%}
    case jsonb_typeof({{ value_expr }})
        when 'string' then
            case
                when {{ as_text }} ~ '^\s*[0-9]{4}' then trim({{ as_text }})
                else
                    substring({{ as_text }} from '[0-9]{4}') || '-'
                    || coalesce({{ _apify_postgres_month(as_text) }}, '01')
            end
        when 'object' then
            {{ year }} || '-' || coalesce(
                case when {{ month }} ~ '^\s*[0-9]{1,2}\s*$' then lpad(trim({{ month }}), 2, '0') end,
                {{ _apify_postgres_month(month) }},
                {{ _apify_postgres_month(value_expr ~ " ->> 'text'") }},
                '01'
            )
        when 'number' then lpad({{ as_text }}, 4, '0') || '-01'
    end
{%- endmacro %}


{#-
    The job that gives an item its position, as a lateral join adding `<alias>.title`,
    `<alias>.company_name`, `<alias>.company_linkedin_url` (as given; title and company
    whitespace-normalised), `<alias>.is_current` and `<alias>.from_experience` (true: the
    entry came from `experience_expr`, false: from `experiences_expr`). The array is
    `experience_expr` when it is one, else `experiences_expr`. Entries:
    - `experience[]`: position, companyName, companyLinkedinUrl, startDate, endDate;
    - `experiences[]`: title, subtitle ("Acme · Full-time": the company before " · "),
      companyLink1, and dates in caption ("Jan 2020 - Present · 4 yrs") or timePeriod (a
      string like caption, or {startDate, endDate} objects); an entry with breakdown true
      groups roles at one company (its title) in subComponents[], each role with its own
      title and caption.
    An entry with neither a title nor a company is not understood and is skipped. The role
    is current when its end date leaves it open (apify_json_date_is_open; no end date at
    all: open). Chosen: the current role with the latest start (apify_json_date_sort_key),
    then array order; none current: the first role, is_current false. No understood role
    (or no array): every column null. Per item, no sort over all items: a filter on the
    item's columns still reaches the raw table; items without an array do no work.
-#}
{% macro apify_json_position_entry_join(experience_expr, experiences_expr, alias) -%}
    {{ return(adapter.dispatch('apify_json_position_entry_join', 'outreach')(experience_expr, experiences_expr, alias)) }}
{%- endmacro %}

{% macro default__apify_json_position_entry_join(experience_expr, experiences_expr, alias) -%}
    {{ exceptions.raise_compiler_error("apify_json_position_entry_join: add " ~ adapter.type() ~ "__apify_json_position_entry_join") }}
{%- endmacro %}

{% macro postgres__apify_json_position_entry_join(experience_expr, experiences_expr, alias) -%}
    left join lateral (
        select
            roles.title,
            roles.company_name,
            roles.company_linkedin_url,
            roles.is_current,
            roles.from_experience
        from (
            select
                parts.entry_index,
                parts.role_index,
                parts.from_experience,
                parts.title,
                parts.company_name,
                parts.company_linkedin_url,
                parts.is_group,
                {{ apify_json_date_is_open('parts.end_value') }} as is_current,
                coalesce({{ apify_json_date_sort_key('parts.start_value') }}, '') as start_key
            from (
                select
                    entries.entry_index,
                    entries.role_index,
                    entries.from_experience,
                    entries.is_group,
                    {{ normalize_whitespace("coalesce(entries.role ->> 'position', entries.role ->> 'title')") }}
                    as title,
                    case
                        when entries.is_group then {{ normalize_whitespace("entries.entry ->> 'title'") }}
                        else coalesce(
                            {{ normalize_whitespace("entries.role ->> 'companyName'") }},
                            {{ normalize_whitespace("regexp_replace(entries.role ->> 'subtitle', '\\s*·.*$', '')") }}
                        )
                    end as company_name,
                    coalesce(
                        entries.role ->> 'companyLinkedinUrl',
                        entries.entry ->> 'companyLinkedinUrl',
                        entries.role ->> 'companyLink1',
                        entries.entry ->> 'companyLink1'
                    ) as company_linkedin_url,
                    coalesce(
                        nullif(entries.role -> 'startDate', 'null'),
                        entries.role -> 'timePeriod' -> 'startDate',
                        to_jsonb(regexp_replace(entries.date_range, '\s+[-–—]\s+.*$', ''))
                    ) as start_value,
                    coalesce(
                        nullif(entries.role -> 'endDate', 'null'),
                        entries.role -> 'timePeriod' -> 'endDate',
                        to_jsonb(regexp_replace(entries.date_range, '^.*?\s[-–—]\s+', ''))
                    ) as end_value
                from (
                    select
                        elements.entry_index,
                        roles_of_entry.role_index,
                        arrays.from_experience,
                        elements.entry,
                        roles_of_entry.role,
                        elements.entry ->> 'breakdown' = 'true'
                        and jsonb_typeof(elements.entry -> 'subComponents') = 'array' as is_group,
                        -- caption / timePeriod text without the duration: "Jan 2020 - Present"
                        regexp_replace(
                            case
                                when jsonb_typeof(roles_of_entry.role -> 'caption') = 'string'
                                    then roles_of_entry.role ->> 'caption'
                                when jsonb_typeof(roles_of_entry.role -> 'timePeriod') = 'string'
                                    then roles_of_entry.role ->> 'timePeriod'
                            end,
                            '\s*·.*$', ''
                        ) as date_range
                    from (
                        select
                            coalesce(jsonb_typeof({{ experience_expr }}) = 'array', false) as from_experience,
                            case
                                when jsonb_typeof({{ experience_expr }}) = 'array' then {{ experience_expr }}
                                when jsonb_typeof({{ experiences_expr }}) = 'array' then {{ experiences_expr }}
                                else cast('[]' as jsonb)
                            end as entries
                    ) as arrays
                    cross join lateral jsonb_array_elements(arrays.entries)
                        with ordinality as elements (entry, entry_index)
                    cross join lateral jsonb_array_elements(
                        case
                            when
                                elements.entry ->> 'breakdown' = 'true'
                                and jsonb_typeof(elements.entry -> 'subComponents') = 'array'
                                then elements.entry -> 'subComponents'
                            else jsonb_build_array(elements.entry)
                        end
                    ) with ordinality as roles_of_entry (role, role_index)
                    where jsonb_typeof(elements.entry) = 'object' and jsonb_typeof(roles_of_entry.role) = 'object'
                    -- offset 0 keeps each level a subquery: its values are computed once per
                    -- role, not inlined (and recomputed) into every expression that uses them
                    offset 0
                ) as entries
                offset 0
            ) as parts
            -- a role without a title or a company is not understood (nor a group's role without a title)
            where parts.title is not null or (parts.company_name is not null and not parts.is_group)
        ) as roles
        order by roles.is_current desc, roles.start_key desc, roles.entry_index asc, roles.role_index asc
        limit 1
    ) as {{ alias }} on true
{%- endmacro %}
