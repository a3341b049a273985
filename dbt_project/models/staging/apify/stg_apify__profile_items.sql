{#-
    One row per observed LinkedIn profile per dataset, both item shapes normalised:
    flat (fullName / jobTitle / companyName / companyLinkedinUrl) and
    firstName / lastName / experience[] (position, companyName, companyLinkedinUrl,
    startDate, endDate). The current position of an experience item is the entry without
    an endDate (null, empty or "Present"), the latest startDate first; an item whose every
    entry has ended has no current position (the person left). Items without a LinkedIn
    profile URL or a name are not observations and are dropped.
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

with

source as (
    select * from {{ apify_source_or_empty('apify', 'profile_items', raw_columns) }}
),

renamed as (
    select
        source.item_key,
        source.job_unique_id,
        source.run_id,
        source.dataset_id,
        cast(source.item_index as {{ dbt.type_bigint() }}) as item_index,
        source.observed_at,
        source.loaded_at,
        source.linkedin_url as profile_url_as_given,
        coalesce(
            {{ normalize_linkedin_url('source.linkedin_url') }},
            {{ normalize_linkedin_url('source.input_url') }}
        ) as linkedin_url,
        {{ normalize_linkedin_url('source.input_url') }} as input_linkedin_url,
        coalesce(
            {{ normalize_whitespace('source.full_name') }},
            {{ normalize_whitespace(dbt.concat([
                "coalesce(source.first_name, '')", "' '", "coalesce(source.last_name, '')"
            ])) }}
        ) as full_name,
        {{ normalize_whitespace('source.first_name') }} as first_name,
        {{ normalize_whitespace('source.last_name') }} as last_name,
        {{ normalize_whitespace('source.headline') }} as headline,
        {{ normalize_whitespace('source.job_title') }} as flat_title,
        {{ normalize_whitespace('source.company_name') }} as flat_company_name,
        {{ normalize_linkedin_url('source.company_linkedin_url') }} as flat_company_linkedin_url,
        -- the item's experience entry, if it has any (current one first; see the macro)
        position_entry.entry_index is not null as has_experience,
        coalesce(position_entry.is_current, false) as is_current_entry,
        coalesce(
            {{ normalize_whitespace(apify_json_text('position_entry.entry', 'position')) }},
            {{ normalize_whitespace(apify_json_text('position_entry.entry', 'title')) }}
        ) as entry_title,
        {{ normalize_whitespace(apify_json_text('position_entry.entry', 'companyName')) }} as entry_company_name,
        {{ normalize_linkedin_url(apify_json_text('position_entry.entry', 'companyLinkedinUrl')) }}
            as entry_company_linkedin_url
    from source
    {{ apify_json_position_entry_join('source.experience', 'position_entry') }}
),

profiles as (
    select
        item_key,
        job_unique_id,
        run_id,
        dataset_id,
        item_index,
        observed_at,
        loaded_at,
        linkedin_url,
        input_linkedin_url,
        profile_url_as_given,
        full_name,
        first_name,
        last_name,
        headline,
        case when has_experience then 'experience' else 'flat' end as item_shape,
        case
            when has_experience then case when is_current_entry then entry_title end
            else flat_title
        end as title,
        case
            when has_experience then case when is_current_entry then entry_company_name end
            else flat_company_name
        end as company_name,
        case
            when has_experience then case when is_current_entry then entry_company_linkedin_url end
            else flat_company_linkedin_url
        end as company_linkedin_url
    from renamed
    where linkedin_url is not null and full_name is not null
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by linkedin_url, dataset_id
            order by item_index asc, item_key asc
        ) as row_in_dataset
    from profiles
),

-- above the window, so title and company (normalised) are computed once per row
kept as (
    select
        *,
        coalesce(title, company_name) is not null as has_current_position
    from deduplicated
    where row_in_dataset = 1
),

final as (
    select
        item_key,
        linkedin_url,
        input_linkedin_url,
        profile_url_as_given,
        full_name,
        first_name,
        last_name,
        headline,
        title,
        company_name,
        company_linkedin_url,
        has_current_position,
        item_shape,
        observed_at,
        job_unique_id,
        run_id,
        dataset_id,
        item_index,
        loaded_at
    from kept
)

select * from final
