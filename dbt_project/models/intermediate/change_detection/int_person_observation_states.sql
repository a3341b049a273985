{#-
    Each profile's comparison state: the observation the next LinkedIn observation of the
    profile is compared with when nothing else intervenes - its last recorded in-time
    LinkedIn observation, else its latest intake row (the baseline) - with the state columns
    of int_person_observations. The fast path of int_person_observations joins it instead
    of sorting the profiles' history; it checks first that this table is in step with the
    history (the row with profile_url '' holds the latest recorded_at folded in) and takes
    the history path otherwise, so a missed build costs time, never a wrong row.
    Incremental: the rows recorded since, best first per profile, are merged in
    (macros/conditional_merge.sql): a new profile's row is inserted, a known profile's
    state is replaced only by a row that ranks higher - a LinkedIn observation before an
    intake row, then the later loaded, then the higher key (observation_state_rank).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='conditional_merge',
        unique_key='profile_url',
        merge_update_condition="source.profile_url = '' or "
            ~ observation_state_rank('source.') ~ " > " ~ observation_state_rank('target.'),
        pre_hook="{{ bulk_model_settings() }}",
        indexes=[{'columns': ['profile_url'], 'unique': True}],
    )
}}

{%- set state_columns = [
    'observation_key', 'origin', 'observed_at', 'loaded_at', 'job_unique_id',
] + observation_state_columns() -%}

{#- incremental: the rows recorded since the last build (the sync row's recorded_at) -#}
{%- set recorded_since -%}
    {%- if is_incremental() -%}
        and observations.recorded_at > (
            select sync.recorded_at
            from {{ this }} as sync
            where sync.profile_url = ''
        )
    {%- endif -%}
{%- endset -%}

with

recorded as (
    select
        observations.profile_url,
        {{ column_list('observations.{c}', state_columns) }},
        observations.recorded_at
    from {{ ref('int_person_observations') }} as observations
    where
        observations.origin in ('linkedin', 'intake')
        and not observations.is_late
        {{ recorded_since }}  -- noqa: LT02
),

ranked as (
    select
        *,
        row_number() over (
            partition by profile_url
            order by {{ observation_state_rank('') }} desc
        ) as recency
    from recorded
),

sync as (
    select
        '' as profile_url,
        {{ column_list('cast(null as {t}) as {c}', state_columns, types=observation_state_types()) }},
        coalesce(max(observations.recorded_at), cast('1900-01-01' as {{ type_timestamptz() }})) as recorded_at
    from {{ ref('int_person_observations') }} as observations
),

final as (
    select
        profile_url,
        {{ column_list('{c}', state_columns) }},
        recorded_at
    from ranked
    where recency = 1
    union all
    select
        profile_url,
        {{ column_list('{c}', state_columns) }},
        recorded_at
    from sync
)

select * from final
