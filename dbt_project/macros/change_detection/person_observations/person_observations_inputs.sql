{#-
    int_person_observations, part 2: the inputs - the new datasets, their items, the intake
    rows not in the history yet, and each new dataset's bounds (its `dataset` row).
    CTEs: new_datasets, items, intake_rows, dataset_bounds.
-#}
{% macro person_observations_inputs(o) -%}
-- the datasets of finished refresh jobs (their items have all landed) not processed yet
new_datasets as (
    select jobs.dataset_id
    from {{ ref('stg_apify__refresh_jobs') }} as jobs
    where
        jobs.status in ('completed', 'failed')
        and jobs.items_landed > 0
        and jobs.dataset_id is not null
        {{ o.unprocessed_datasets_filter }}  -- noqa: LT02
),

-- their items (repeats kept: see routed and history_new), pushed down to the raw table.
-- Observations are the items with a profile URL and a name: filtered by each reader, as a
-- filter here would be pushed into the view and compute both twice per item.
items as (
    select
        item_key,
        item_index,
        job_unique_id,
        dataset_id,
        observed_at,
        loaded_at,
        linkedin_url as profile_url,
        full_name_given,
        first_name_given,
        last_name_given,
        title_given,
        company_name_given,
        company_linkedin_url_given,
        has_name,
        item_shape
    from {{ ref('stg_apify__profile_positions') }}
    where {{ in_subquery('dataset_id', 'select new_datasets.dataset_id from new_datasets') }}
),

intake_rows as (
    select
        row_key,
        source_file,
        loaded_at,
        linkedin_url as profile_url,
        full_name,
        title,
        employer_name,
        employer_website,
        employer_linkedin_url
    from {{ ref('stg_intake__people') }}
    {{ o.intake_rows_filter }}  -- noqa: LT02
),

-- per new dataset, its observations' times (its `dataset` row; the fast path's bounds)
dataset_bounds as (
    select
        dataset_id,
        min(job_unique_id) as job_unique_id,
        min(observed_at) as min_observed_at,
        max(observed_at) as max_observed_at,
        max(loaded_at) as max_loaded_at,
        min(case when observed_at < loaded_at then observed_at else loaded_at end) as min_event_at
    from items
    where profile_url is not null and has_name
    group by dataset_id
)
{%- endmacro %}
