{#-
    The observation history of change detection: one row per (profile, observation) - each
    intake row of a person with a LinkedIn URL (the baseline) and each profile the Apify
    refresh observed - with the title and employer as observed, their normalised forms, and
    for LinkedIn observations the observation it is compared with and whether the state
    changed. Append-only: a build adds the observations it has not seen and never rewrites
    a row, so each change is detected once. Rules: _intermediate__change_detection.yml and
    docs/decisions.md ("Change detection").
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ bulk_model_settings() }}",
        indexes=[
            {'columns': ['observation_key'], 'unique': True},
            {'columns': ['profile_url']},
            {'columns': ['origin', 'loaded_at']},
            {'columns': ['job_unique_id']},
        ],
    )
}}

{%- set text = dbt.type_string() -%}
{%- set row_columns = [
    'observation_key', 'origin', 'profile_url', 'observed_at', 'loaded_at', 'job_unique_id',
    'source_ref', 'full_name', 'title', 'title_key', 'has_current_position', 'employer_name',
    'employer_linkedin_url', 'employer_domain', 'employer_name_key', 'employer_company_id',
] -%}
{#- what is compared, and its types -#}
{%- set state_types = {
    'title_key': text, 'has_current_position': dbt.type_boolean(), 'employer_linkedin_url': text,
    'employer_domain': text, 'employer_name_key': text, 'employer_company_id': dbt.type_bigint(),
} -%}
{%- set state_columns = state_types.keys() | list -%}
{#- what only the output needs: stored rows are read without it -#}
{%- set payload_columns = ['job_unique_id', 'source_ref', 'full_name', 'title', 'employer_name'] -%}
{%- set stored_columns = [] -%}
{%- for column in row_columns -%}
    {%- if column in payload_columns -%}
        {%- do stored_columns.append('cast(null as ' ~ text ~ ') as ' ~ column) -%}
    {%- else -%}
        {%- do stored_columns.append('seen.' ~ column) -%}
    {%- endif -%}
{%- endfor -%}
{%- set no_time = "cast('1900-01-01' as " ~ type_timestamptz() ~ ")" -%}

{#- incremental: only the datasets of finished refresh jobs not seen yet (their items have
    all landed), pushed down to the raw table -#}
{%- set new_datasets -%}
    select jobs.dataset_id
    from {{ ref('stg_apify__refresh_jobs') }} as jobs
    where
        jobs.status in ('completed', 'failed')
        and jobs.items_landed > 0
        and jobs.dataset_id is not null
        and not exists (
            select 1
            from {{ this }} as seen
            where seen.job_unique_id = jobs.job_unique_id
        )
{%- endset -%}

{%- set linkedin_items_filter -%}
    {%- if is_incremental() -%}
        where {{ in_subquery('dataset_id', new_datasets) }}
    {%- endif -%}
{%- endset -%}

{#- incremental: intake rows keep the time their content was first loaded; an hour of
    lookback covers a load that committed while the previous build ran; rows already in
    the history are skipped (new datasets' items cannot be there). Rows without a LinkedIn
    URL are dropped later (batch), after new_observations is materialised: a filter on the
    normalised URL here would be pushed down to the raw scan and normalise every row in
    the lookback window, not just the new ones. -#}
{%- set intake_rows_filter -%}
    {%- if is_incremental() -%}
        where loaded_at >= (
            select {{ dbt.dateadd('hour', -1, 'coalesce(max(seen.loaded_at), ' ~ no_time ~ ')') }}
            from {{ this }} as seen
            where seen.origin = 'intake'
        )
        and not exists (
            select 1
            from {{ this }} as seen
            where seen.observation_key = {{ dbt.concat(["'intake:'", 'row_key']) }}
        )
    {%- endif -%}
{%- endset -%}

{%- set tracked_company_aliases -%}
    select
        company_keys.alias_key,
        company_keys.company_seq as company_id
    from {{ ref('int_company_keys') }} as company_keys
    where company_keys.company_seq in (select companies.company_id from {{ ref('company_master') }} as companies)
{%- endset -%}

{#- incremental: the stored history of the profiles the new observations concern -#}
{%- set stored_history -%}
    {%- if is_incremental() -%}
        union all
        select
            {{ stored_columns | join(',\n            ') }},
            false as is_new,
            seen.is_late as stored_is_late
        from {{ this }} as seen
        where {{ in_subquery('seen.profile_url', 'select distinct batch.profile_url from batch') }}
    {%- endif -%}
{%- endset %}

with

linkedin_items as (
    select
        item_key,
        linkedin_url,
        full_name,
        title,
        company_name,
        company_linkedin_url,
        has_current_position,
        observed_at,
        loaded_at,
        job_unique_id,
        dataset_id
    from {{ ref('stg_apify__profile_items') }}
    {{ linkedin_items_filter }}
),

intake_rows as (
    select
        row_key,
        source_file,
        loaded_at,
        linkedin_url,
        full_name,
        title,
        employer_name,
        employer_website,
        employer_linkedin_url
    from {{ ref('stg_intake__people') }}
    {{ intake_rows_filter }}
),

observed as (
    select
        {{ dbt.concat(["'apify:'", 'item_key']) }} as observation_key,
        'linkedin' as origin,
        linkedin_url as profile_url,
        observed_at,
        loaded_at,
        job_unique_id,
        dataset_id as source_ref,
        full_name,
        title,
        has_current_position,
        company_name as employer_name,
        company_linkedin_url as employer_linkedin_url,
        cast(null as {{ text }}) as employer_website
    from linkedin_items
    union all
    select
        {{ dbt.concat(["'intake:'", 'row_key']) }} as observation_key,
        'intake' as origin,
        linkedin_url as profile_url,
        loaded_at as observed_at,
        loaded_at,
        cast(null as {{ text }}) as job_unique_id,
        source_file as source_ref,
        full_name,
        title,
        coalesce(title, employer_name, employer_website, employer_linkedin_url) is not null as has_current_position,
        employer_name,
        employer_linkedin_url,
        employer_website
    from intake_rows
),

new_observations as (
    select * from observed
),

-- titles and employers are normalised once per distinct value, not once per observation
titles as (
    select distinct title
    from new_observations
    where title is not null
),

title_keys as (
    {{ normalize_titles('titles') }}
),

employers as (
    select distinct
        employer_name,
        employer_linkedin_url,
        employer_website
    from new_observations
    where coalesce(employer_name, employer_linkedin_url, employer_website) is not null
),

employers_normalized as (
    select
        employer_name,
        employer_linkedin_url,
        employer_website,
        {{ normalize_domain('employer_website') }} as employer_domain,
        {{ normalize_company_name('employer_name') }} as employer_name_key
    from employers
),

-- tracked companies (marketing.company_master) by every identity form they ever had: one
-- copy per lookup, each read once, so the planner sees the key map's unique index (a CTE
-- read three times is materialised, and without statistics - tables built earlier in the
-- same run - its join estimates explode into nested loops)
aliases_by_linkedin as (
    {{ tracked_company_aliases }}
),

aliases_by_domain as (
    {{ tracked_company_aliases }}
),

aliases_by_name as (
    {{ tracked_company_aliases }}
),

-- employer -> tracked company: LinkedIn page, then website domain, then normalised name
employers_resolved as (
    select
        employers_normalized.employer_name,
        employers_normalized.employer_linkedin_url,
        employers_normalized.employer_website,
        employers_normalized.employer_domain,
        employers_normalized.employer_name_key,
        coalesce(by_linkedin.company_id, by_domain.company_id, by_name.company_id) as employer_company_id
    from employers_normalized
    left join aliases_by_linkedin as by_linkedin
        on {{ dbt.concat(["'li:'", 'employers_normalized.employer_linkedin_url']) }} = by_linkedin.alias_key
    left join aliases_by_domain as by_domain
        on {{ dbt.concat(["'dom:'", 'employers_normalized.employer_domain']) }} = by_domain.alias_key
    left join aliases_by_name as by_name
        on {{ dbt.concat(["'name:'", 'employers_normalized.employer_name_key']) }} = by_name.alias_key
),

batch as (
    select
        new_observations.observation_key,
        new_observations.origin,
        new_observations.profile_url,
        new_observations.observed_at,
        new_observations.loaded_at,
        new_observations.job_unique_id,
        new_observations.source_ref,
        new_observations.full_name,
        new_observations.title,
        title_keys.title_key,
        new_observations.has_current_position,
        new_observations.employer_name,
        new_observations.employer_linkedin_url,
        employers_resolved.employer_domain,
        employers_resolved.employer_name_key,
        employers_resolved.employer_company_id,
        true as is_new,
        cast(null as {{ dbt.type_boolean() }}) as stored_is_late
    from new_observations
    left join title_keys on new_observations.title = title_keys.title
    left join employers_resolved
        on
            coalesce(new_observations.employer_name, '') = coalesce(employers_resolved.employer_name, '')
            and coalesce(new_observations.employer_linkedin_url, '')
            = coalesce(employers_resolved.employer_linkedin_url, '')
            and coalesce(new_observations.employer_website, '') = coalesce(employers_resolved.employer_website, '')
    where new_observations.profile_url is not null
),

-- what the new observations are compared with: the history of the profiles they concern
-- (stored rows carry only what comparing needs). From here on window functions and one
-- lookup by key (a hash join) - no joins whose plan depends on row estimates (batch sizes
-- vary from a handful of rows to millions); each step reads the one before it once, so the
-- history is sorted once (by profile) and each later window only re-sorts within a profile.
history as (
    select
        {{ row_columns | join(',\n        ') }},
        is_new,
        stored_is_late
    from batch
    {{ stored_history }}
),

-- A LinkedIn observation is late when one loaded before it was observed after it (an old
-- export imported after newer data): kept, but not compared, and nothing is compared with it.
-- (Intake rows get windows of their own partition here; only LinkedIn rows use them.)
linkedin_flagged as (
    select
        *,
        case
            when origin <> 'linkedin' then false
            when is_new
                then coalesce(
                    observed_at < max(observed_at) over (
                        partition by profile_url, origin
                        order by loaded_at, observation_key
                        rows between unbounded preceding and 1 preceding
                    ),
                    false
                )
            else stored_is_late
        end as is_late_now
    from history
),

-- in-time observations in load order are also in observation-time order: each is compared
-- with the one before it (its state carried along by lag; late rows form their own partition)
in_time as (
    select
        *,
        lag(observation_key) over profile_order as lag_key
    from linkedin_flagged
    window profile_order as (partition by profile_url, origin, is_late_now order by loaded_at, observation_key)
),

-- a profile's first in-time LinkedIn observation is compared with its intake baseline: the
-- latest intake row loaded no later than the observation was made and loaded. All rows in
-- one time order (intake rows first on ties); each row falls in the group the last intake
-- row before it opened (group 0: none), so a group's first row is its intake row.
baseline_groups as (
    select
        *,
        count(case when origin_rank = 0 then 1 end) over (
            partition by profile_url
            order by event_at, origin_rank, observation_key
            rows between unbounded preceding and current row
        ) as intake_group
    from (
        select
            *,
            case when origin = 'intake' then 0 else 1 end as origin_rank,
            case
                when origin = 'intake' then loaded_at
                when observed_at < loaded_at then observed_at
                else loaded_at
            end as event_at
        from in_time
    ) as in_time_events
),

baselines as (
    select
        *,
        first_value(observation_key) over intake_rows_first as group_key
    from baseline_groups
    window intake_rows_first as (
        partition by profile_url, intake_group
        order by event_at, origin_rank, observation_key
        rows between unbounded preceding and current row
    )
),

-- every new observation once, with the observation it is compared with (none: null): the
-- previous in-time LinkedIn observation, else (the first) the baseline; intake and late
-- rows: none
paired_keys as (
    select
        {{ row_columns | join(',\n        ') }},
        origin = 'linkedin' and is_late_now as is_late,
        case
            when origin <> 'linkedin' or is_late_now then null
            when lag_key is not null then lag_key
            when intake_group > 0 then group_key
        end as previous_observation_key
    from baselines
    where is_new
),

-- and that observation's state (the windows carry keys only: one lookup, not a window
-- function per state column)
paired as (
    select
        paired_keys.*,
        {{ column_list('previous.{c} as previous_{c}', state_columns) }}
    from paired_keys
    left join history as previous on paired_keys.previous_observation_key = previous.observation_key
),

compared as (
    select
        *,
        -- same employer: same tracked company if both resolve to one, else the strongest
        -- identity form both have (LinkedIn page, domain, normalised name); no employer on
        -- both sides (no current position) is the same
        case
            when previous_observation_key is null then null
            when
                coalesce(
                    cast(employer_company_id as {{ text }}), employer_linkedin_url,
                    employer_domain, employer_name_key
                ) is null
                and coalesce(
                    cast(previous_employer_company_id as {{ text }}), previous_employer_linkedin_url,
                    previous_employer_domain, previous_employer_name_key
                ) is null
                then false
            when employer_company_id is not null and previous_employer_company_id is not null
                then employer_company_id <> previous_employer_company_id
            when employer_linkedin_url is not null and previous_employer_linkedin_url is not null
                then employer_linkedin_url <> previous_employer_linkedin_url
            when employer_domain is not null and previous_employer_domain is not null
                then employer_domain <> previous_employer_domain
            when employer_name_key is not null and previous_employer_name_key is not null
                then employer_name_key <> previous_employer_name_key
            else true
        end as employer_changed,
        case
            when previous_observation_key is null then null
            else
                coalesce(title_key, '') <> coalesce(previous_title_key, '')
                or has_current_position <> previous_has_current_position
        end as title_changed
    from paired
),

final as (
    select
        {{ row_columns | join(',\n        ') }},
        previous_observation_key,
        employer_changed,
        title_changed,
        is_late,
        coalesce(employer_changed or title_changed, false) as is_change
    from compared
)

select * from final
