{#-
    int_person_observations, part 1 of 11: what the model's SQL is written from, decided
    before it is rendered and returned as one dict (`o`) that the other parts read: column
    lists, types, the incremental flags, the states table (fast path) and whether to look
    states up one by one (small_batch), and the incremental filters of the inputs.
    Queries run here (small_batch's sizes, the intake watermark) run at compile time.
-#}
{% macro person_observations_context() -%}
{%- set text = dbt.type_string() -%}
{%- set ts = type_timestamptz() -%}
{%- set incremental = is_incremental() -%}
{%- set states = observation_states_relation() if incremental else none -%}
{%- set recorded_at = "cast('" ~ run_started_at.isoformat() ~ "' as " ~ ts ~ ")" -%}
{#- the fast path looks states up one by one (their index) for a batch much smaller than
    the states table, else by one hash join over it; the batch size is known beforehand -
    the new datasets' items_landed - and the planner's guess is not; the table's size is
    an estimate (relation_row_estimate) -#}
{%- set small_batch = false -%}
{%- if states is not none -%}
    {%- set sizing -%}
        select
            (
                select coalesce(sum(jobs.items_landed), 0)
                from {{ ref('stg_apify__refresh_jobs') }} as jobs
                where
                    jobs.status in ('completed', 'failed')
                    and not exists (
                        select 1
                        from {{ this }} as seen
                        where seen.observation_key = {{ dbt.concat(["'dataset:'", 'jobs.dataset_id']) }}
                    )
            ) as new_items,
            ({{ relation_row_estimate(states) }}) as states
    {%- endset -%}
    {%- set sizes = run_query(sizing).rows[0] -%}
    {%- set small_batch = index_lookups_pay(sizes[0], sizes[1]) -%}
{%- endif -%}
{%- set row_columns = [
    'observation_key', 'origin', 'profile_url', 'observed_at', 'loaded_at', 'event_at',
    'job_unique_id', 'source_ref', 'full_name', 'title', 'title_key', 'has_current_position',
    'employer_name', 'employer_linkedin_url', 'employer_domain', 'employer_name_key',
    'employer_company_id',
] -%}
{%- set state_columns = observation_state_columns() -%}
{%- set employer_columns = [
    'employer_name', 'employer_linkedin_url', 'employer_domain', 'employer_name_key', 'employer_company_id',
] -%}
{#- what the windows carry: keys, times and the state (names and given parts are not needed) -#}
{%- set history_columns = [
    'observation_key', 'origin', 'profile_url', 'observed_at', 'loaded_at', 'event_at',
] + state_columns -%}
{#- the observation compared with, as the changes read it (int_person_changes): these
    columns of it, as previous_<column> -#}
{%- set compared_columns = [
    'origin', 'observed_at', 'title', 'employer_name', 'employer_linkedin_url', 'employer_domain',
    'employer_company_id',
] -%}
{%- set previous_columns = [] -%}
{%- for column in compared_columns -%}
    {%- do previous_columns.append('previous_' ~ column) -%}
{%- endfor -%}
{%- set output_columns = row_columns + [
    'is_late', 'previous_observation_key', 'employer_changed', 'title_changed', 'is_change',
] + previous_columns -%}
{%- set full_name = apify_full_name('full_name_given', 'first_name_given', 'last_name_given') -%}

{#- incremental: intake rows not in the history yet. A row loaded before the previous build
    started may have been committed after it read (a long load): rows loaded from an hour
    before that build on (the latest recorded_at) are checked against the history; older
    ones were all seen. The bound is read first and written into the query as a constant,
    so the planner sees how few rows pass (the raw table's index on _loaded_at) and looks
    them up by key instead of hashing the whole history. -#}
{%- set intake_since = "cast('1900-01-01' as " ~ ts ~ ")" -%}
{%- if incremental and this is string -%}
    {#- a unit test: `this` is a fixture, not a table to query beforehand -#}
    {%- set intake_since = "(select " ~ dbt.dateadd('hour', -1, 'max(seen.recorded_at)') ~ " from " ~ this ~ " as seen)" -%}
{%- elif incremental and execute -%}
    {%- set watermark = run_query("select max(recorded_at) from " ~ this).rows[0][0] -%}
    {%- if watermark is not none -%}
        {%- set intake_since = dbt.dateadd('hour', -1, "cast('" ~ watermark.isoformat() ~ "' as " ~ ts ~ ")") -%}
    {%- endif -%}
{%- endif -%}
{#- incremental: datasets without a dataset row in the history -#}
{%- set unprocessed_datasets_filter -%}
    {%- if incremental -%}
        and not exists (
            select 1
            from {{ this }} as seen
            where seen.observation_key = {{ dbt.concat(["'dataset:'", 'jobs.dataset_id']) }}
        )
    {%- endif -%}
{%- endset -%}
{%- set intake_rows_filter -%}
    {%- if incremental -%}
        where loaded_at >= {{ intake_since }}
        and not exists (
            select 1
            from {{ this }} as seen
            where seen.observation_key = {{ dbt.concat(["'intake:'", 'row_key']) }}
        )
    {%- endif -%}
{%- endset %}
{{ return({
        'text': text,
        'ts': ts,
        'incremental': incremental,
        'states': states,
        'recorded_at': recorded_at,
        'small_batch': small_batch,
        'row_columns': row_columns,
        'state_columns': state_columns,
        'employer_columns': employer_columns,
        'history_columns': history_columns,
        'compared_columns': compared_columns,
        'previous_columns': previous_columns,
        'output_columns': output_columns,
        'full_name': full_name,
        'intake_since': intake_since,
        'unprocessed_datasets_filter': unprocessed_datasets_filter,
        'intake_rows_filter': intake_rows_filter,
    }) }}
{%- endmacro %}
