{#-
    int_profile_urls_checked as of the last build: when each LinkedIn profile URL was last
    observed, with the latest loaded_at counted. A current-state table, kept incrementally: a build reads only the datasets loaded after
    the latest loaded_at it holds (the dataset ids are read first and written into the query
    as constants, so the filter reaches the raw table through the staging view's window,
    which is partitioned by dataset), and merges them in: a new URL is inserted, a known one
    takes the later of its two times (a late import never moves it back) and the new
    loaded_at (the watermark). Its cost
    follows the new datasets, not the history (issue 18); `--full-refresh` rebuilds it whole.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='conditional_merge',
        unique_key='url',
        merge_update_condition='source.loaded_at > target.loaded_at',
        indexes=[{'columns': ['url'], 'unique': True}],
    )
}}

{%- set new_datasets = none -%}
{%- if is_incremental() and execute and this is not string -%}
    {%- set watermark = run_query("select max(loaded_at) from " ~ this).rows[0][0] -%}
    {%- if watermark is not none -%}
        {%- set new_datasets = run_query(
            "select distinct dataset_id from " ~ source('apify', 'profile_items')
            ~ " where loaded_at > cast('" ~ watermark.isoformat() ~ "' as " ~ type_timestamptz() ~ ")"
        ).columns[0].values() | list -%}
    {%- endif -%}
{%- endif %}

with

observations as (
    select
        linkedin_url,
        input_linkedin_url,
        observed_at,
        loaded_at
    from {{ ref('stg_apify__profile_items') }}
    {%- if new_datasets is not none %}
    where dataset_id in (
        {%- for dataset_id in new_datasets %}'{{ dataset_id | replace("'", "''") }}'{{ ', ' if not loop.last }}{% else %}null{% endfor -%}
    )
    {%- endif %}
),

urls as (
    select
        linkedin_url as url,
        observed_at,
        loaded_at
    from observations
    where linkedin_url is not null
    union all
    select
        input_linkedin_url as url,
        observed_at,
        loaded_at
    from observations
    where input_linkedin_url is not null
),

checked as (
    select
        url,
        max(observed_at) as last_checked_at,
        max(loaded_at) as loaded_at
    from urls
    group by url
),

-- what the table holds for these URLs (nothing on a full build)
kept as (
    select
        url,
        last_checked_at
    from {{ this if new_datasets is not none else 'checked where false' }}
),

final as (
    select
        checked.url,
        checked.loaded_at,
        greatest(checked.last_checked_at, kept.last_checked_at) as last_checked_at
    from checked
    left join kept on checked.url = kept.url
)

select * from final
