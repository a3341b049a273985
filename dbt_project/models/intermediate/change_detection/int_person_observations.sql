{#-
    The observation history of change detection: the observations of each LinkedIn profile
    that are recorded - every intake row of a person with a LinkedIn URL (the baseline),
    every LinkedIn observation (Apify refresh or import) that differs from the one before it,
    every late one - with the title and employer as observed, their normalised forms, the
    observation it is compared with and whether the state changed; and one `dataset` row per
    dataset processed. An observation equal to the one before it is not stored (a monthly
    refresh changes a few percent of profiles: the rest cost a comparison, not a row). A
    profile's first LinkedIn observation that agrees with its intake baseline is not stored
    either: until a LinkedIn observation differs, the baseline is what is compared with.
    Append-only: a build adds rows and never rewrites one, so each change is detected once.
    Rules: _int_change_detection__models.yml and docs/decisions.md ("Change detection").

    Two paths give the same rows:
    - fast: one new dataset, in time, a profile whose comparison state is known
      (int_person_observation_states, one row per profile, kept by the model downstream)
      and no new intake row for it - each observation is compared with that state by a hash
      join, no sort;
    - history: everything else (a full refresh, several datasets at once, a late import,
      a new intake row, states not in step) - window functions over the whole history of
      the profiles concerned: stored rows, the new observations, and the observations of
      processed datasets that were not stored (from staging).

    One query, written in parts that each fit on a screen: the macros in
    macros/change_detection/person_observations/, called in order below, each render a few
    CTEs of it (the macro's header lists them), so the compiled SQL is the single statement
    it always was (`dbt compile` shows it whole). Macros, not ephemeral models: the parts
    read this model's own table (`this`, is_incremental()) and what part 1 decided at
    compile time (`o`), which an ephemeral model cannot see.
-#}
-- depends_on: {{ ref('stg_apify__profile_items') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ bulk_model_settings() }}",
        indexes=[
            {'columns': ['observation_key'], 'unique': True},
            {'columns': ['profile_url']},
            {'columns': ['origin', 'loaded_at']},
            {'columns': ['recorded_at']},
        ],
    )
}}

{%- set o = person_observations_context() %}

with

{{ person_observations_inputs(o) }},

{{ person_observations_observed(o) }},

{{ person_observations_routed(o) }},
{%- if o.states is not none %}

{{ person_observations_fast_recorded(o) }},
{%- endif %}

{{ person_observations_history(o) }},

{{ person_observations_chains(o) }},

{{ person_observations_decided(o) }},

{{ person_observations_previous(o) }},

{{ person_observations_history_recorded(o) }},

datasets as (
    select
        {{ dbt.concat(["'dataset:'", 'dataset_id']) }} as observation_key,
        'dataset' as origin,
        cast(null as {{ o.text }}) as profile_url,
        max_observed_at as observed_at,
        max_loaded_at as loaded_at,
        min_event_at as event_at,
        job_unique_id,
        dataset_id as source_ref
    from dataset_bounds
),

recorded as (
    {%- if o.states is not none %}
    select
        {{ column_list('{c}', o.row_columns | reject('equalto', 'full_name') | list) }},
        {{ o.full_name }} as full_name,
        false as is_late,
        previous_observation_key,
        employer_changed,
        title_changed,
        is_change,
        {{ column_list('state_{c} as previous_{c}', o.compared_columns) }}
    from fast_recorded
    union all
    {%- endif %}
    select
        {{ column_list('{c}', o.row_columns | reject('equalto', 'full_name') | list) }},
        {{ o.full_name }} as full_name,
        is_late,
        previous_observation_key,
        employer_changed,
        title_changed,
        is_change,
        {{ column_list('{c}', o.previous_columns) }}
    from history_recorded
    union all
    select
        observation_key,
        origin,
        profile_url,
        observed_at,
        loaded_at,
        event_at,
        job_unique_id,
        source_ref,
        {{ column_list('cast(null as {t}) as {c}', [
            'title', 'title_key', 'has_current_position', 'employer_name', 'employer_linkedin_url',
            'employer_domain', 'employer_name_key', 'employer_company_id',
        ], types={
            'title': o.text, 'title_key': o.text, 'has_current_position': dbt.type_boolean(),
            'employer_name': o.text, 'employer_linkedin_url': o.text, 'employer_domain': o.text,
            'employer_name_key': o.text, 'employer_company_id': dbt.type_bigint(),
        }) }},
        cast(null as {{ o.text }}) as full_name,
        false as is_late,
        cast(null as {{ o.text }}) as previous_observation_key,
        cast(null as {{ dbt.type_boolean() }}) as employer_changed,
        cast(null as {{ dbt.type_boolean() }}) as title_changed,
        false as is_change,
        {{ column_list('cast(null as {t}) as previous_{c}', o.compared_columns, types=observation_state_types()) }}
    from datasets
),

final as (
    select
        {{ column_list('{c}', o.output_columns) }},
        {{ o.recorded_at }} as recorded_at
    from recorded
)

select * from final
