{#-
    One row per raw Apify profile item (repeats kept): the per-item part of
    stg_apify__profile_items, kept cheap because change detection reads a whole refresh (a
    million items) at once. Per item: the canonical profile URL, whether the item names the
    person (has_name: the rule of stg_apify__profile_items.full_name without building the
    name), the current position as given (flat fields, or the current job of an
    `experience` / `experiences` array: apify_json_position_entry_join) and item_shape:
    which rule gave it (flat, experience, experiences; unparsed when no rule understands
    the item: not an observation of a position). Whitespace and company-URL normalisation
    of the position are left to whoever reads it: stg_apify__profile_items per item, int_person_observations once per distinct
    value. Job-list titles and companies are normalised here already (normalising twice
    changes nothing).
-#}
{%- set text = dbt.type_string() -%}
{%- set ts = type_timestamptz() -%}
{%- set raw_columns = {
    'item_key': text, 'job_unique_id': text, 'run_id': text, 'dataset_id': text,
    'item_index': dbt.type_bigint(), 'observed_at': ts, 'loaded_at': ts,
    'linkedin_url': text, 'input_url': text, 'full_name': text, 'first_name': text,
    'last_name': text, 'headline': text, 'job_title': text, 'company_name': text,
    'company_linkedin_url': text, 'experience': apify_type_json(), 'item': apify_type_json(),
} -%}

{#- the raw table, read by each branch below (a CTE read twice would be materialised whole,
    and a filter on the view - a dataset - would no longer reach the raw table) -#}
{%- set source = apify_source_or_empty('apify', 'profile_items', raw_columns) %}

with

-- the item and its current job (apify_json_position_entry_join): only items with an
-- `experience` or an `experiences` array run the lateral subquery, each found through its
-- own partial index (loaders/apify_linkedin/jobs.py ensure_item_indexes); for the rest (flat
-- items) a lateral join alone costs about a second per million items
{%- set experience = 'raw_items.experience' %}
{%- set experiences = apify_json_value('raw_items.item', 'experiences') %}
items as (
    select
        raw_items.*,
        cast(null as {{ text }}) as entry_title,
        cast(null as {{ text }}) as entry_company_name,
        cast(null as {{ text }}) as entry_company_linkedin_url,
        cast(null as {{ dbt.type_boolean() }}) as entry_is_current,
        cast(null as {{ dbt.type_boolean() }}) as entry_from_experience
    from (select * from {{ source }}) as raw_items
    where not {{ apify_json_is_array(experience) }} and not {{ apify_json_is_array(experiences) }}
    union all
    select
        raw_items.*,
        position_entry.title as entry_title,
        position_entry.company_name as entry_company_name,
        position_entry.company_linkedin_url as entry_company_linkedin_url,
        position_entry.is_current as entry_is_current,
        position_entry.from_experience as entry_from_experience
    from (select * from {{ source }}) as raw_items
    {{ apify_json_position_entry_join(experience, experiences, 'position_entry') }}
    where {{ apify_json_is_array(experience) }}
    union all
    select
        raw_items.*,
        position_entry.title as entry_title,
        position_entry.company_name as entry_company_name,
        position_entry.company_linkedin_url as entry_company_linkedin_url,
        position_entry.is_current as entry_is_current,
        position_entry.from_experience as entry_from_experience
    from (select * from {{ source }}) as raw_items
    {{ apify_json_position_entry_join(experience, experiences, 'position_entry') }}
    where not {{ apify_json_is_array(experience) }} and {{ apify_json_is_array(experiences) }}
),

final as (
    select
        items.item_key,
        items.job_unique_id,
        items.run_id,
        items.dataset_id,
        cast(items.item_index as {{ dbt.type_bigint() }}) as item_index,
        items.observed_at,
        items.loaded_at,
        items.linkedin_url as profile_url_as_given,
        coalesce(
            {{ normalize_linkedin_url('items.linkedin_url') }},
            {{ normalize_linkedin_url('items.input_url') }}
        ) as linkedin_url,
        {{ normalize_linkedin_url('items.input_url') }} as input_linkedin_url,
        items.full_name as full_name_given,
        items.first_name as first_name_given,
        items.last_name as last_name_given,
        items.headline as headline_given,
        (
            {{ has_visible_text('items.full_name') }}
            or {{ has_visible_text('items.first_name') }}
            or {{ has_visible_text('items.last_name') }}
        ) as has_name,
        -- which rule gave the position; `unparsed`: none (not an observation of a position)
        case
            when items.entry_from_experience then 'experience'
            when not items.entry_from_experience then 'experiences'
            when
                coalesce(items.job_title, items.company_name, items.company_linkedin_url) is not null
                or {{ apify_json_has_key('items.item', 'jobTitle') }}
                or {{ apify_json_has_key('items.item', 'companyName') }}
                then 'flat'
            else 'unparsed'
        end as item_shape,
        -- a job list's position is its current job's; none current: no position
        case
            when items.entry_from_experience is null then items.job_title
            when items.entry_is_current then items.entry_title
        end as title_given,
        case
            when items.entry_from_experience is null then items.company_name
            when items.entry_is_current then items.entry_company_name
        end as company_name_given,
        case
            when items.entry_from_experience is null then items.company_linkedin_url
            when items.entry_is_current then items.entry_company_linkedin_url
        end as company_linkedin_url_given
    from items
)

select * from final
