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
{%- set event_at = "case when observed_at < loaded_at then observed_at else loaded_at end" -%}

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

with

-- the datasets of finished refresh jobs (their items have all landed) not processed yet
new_datasets as (
    select jobs.dataset_id
    from {{ ref('stg_apify__refresh_jobs') }} as jobs
    where
        jobs.status in ('completed', 'failed')
        and jobs.items_landed > 0
        and jobs.dataset_id is not null
        {{ unprocessed_datasets_filter }}  -- noqa: LT02
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
    {{ intake_rows_filter }}  -- noqa: LT02
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
),

-- titles and employers are normalised once per distinct value as given, not per observation
title_values as (
    select title_given as title
    from items
    where title_given is not null and profile_url is not null and has_name
    union
    select title
    from intake_rows
    where title is not null
),

title_map as (
    {{ observation_title_map('title_values') }}
),

employer_values as (
    select
        company_name_given as employer_name,
        company_linkedin_url_given as employer_linkedin_url,
        cast(null as {{ text }}) as employer_website
    from items
    where profile_url is not null and has_name
    union
    select
        employer_name,
        employer_linkedin_url,
        employer_website
    from intake_rows
),

employer_map as (
    {{ observation_employer_map('employer_values') }}
),

-- each new LinkedIn observation with its title and employer normalised and resolved
linkedin_observed as (
    select
        {{ dbt.concat(["'apify:'", 'items.item_key']) }} as observation_key,
        'linkedin' as origin,
        items.profile_url,
        items.observed_at,
        items.loaded_at,
        case when items.observed_at < items.loaded_at then items.observed_at else items.loaded_at end as event_at,
        items.job_unique_id,
        items.dataset_id as source_ref,
        items.item_index,
        items.item_key,
        items.full_name_given,
        items.first_name_given,
        items.last_name_given,
        title_map.title,
        title_map.title_key,
        coalesce(title_map.title, employer_map.employer_name) is not null as has_current_position,
        {{ column_list('employer_map.{c}', employer_columns) }}
    from items
    left join title_map on items.title_given = title_map.title_given
    left join employer_map
        on
            coalesce(items.company_name_given, '') = employer_map.employer_name_match
            and coalesce(items.company_linkedin_url_given, '') = employer_map.employer_linkedin_url_match
            and employer_map.employer_website_given is null
    -- an item no staging rule understands says nothing about the position (no departure)
    where items.profile_url is not null and items.has_name and items.item_shape is distinct from 'unparsed'
),

intake_observed as (
    select
        {{ dbt.concat(["'intake:'", 'intake_rows.row_key']) }} as observation_key,
        'intake' as origin,
        intake_rows.profile_url,
        intake_rows.loaded_at as observed_at,
        intake_rows.loaded_at,
        intake_rows.loaded_at as event_at,
        cast(null as {{ text }}) as job_unique_id,
        intake_rows.source_file as source_ref,
        intake_rows.full_name as full_name_given,
        cast(null as {{ text }}) as first_name_given,
        cast(null as {{ text }}) as last_name_given,
        title_map.title,
        title_map.title_key,
        coalesce(
            intake_rows.title, intake_rows.employer_name, intake_rows.employer_website,
            intake_rows.employer_linkedin_url
        ) is not null as has_current_position,
        {{ column_list('employer_map.{c}', employer_columns) }}
    from intake_rows
    left join title_map on intake_rows.title = title_map.title_given
    left join employer_map
        on
            coalesce(intake_rows.employer_name, '') = employer_map.employer_name_match
            and coalesce(intake_rows.employer_linkedin_url, '') = employer_map.employer_linkedin_url_match
            and coalesce(intake_rows.employer_website, '') = employer_map.employer_website_match
    where intake_rows.profile_url is not null
),

{%- if states is not none %}

new_intake_profiles as (
    select distinct profile_url from intake_observed
),

-- the fast path applies when the states are in step with this history (the model
-- downstream ran after the last build), exactly one dataset is new and nothing in it is
-- older than anything processed before
bounds as (
    select
        (select count(*) from new_datasets) as new_datasets,
        -- the whole batch is in time (decided for the batch, so repeats of a profile in it
        -- all take one path)
        coalesce(
            (select min(batch.min_observed_at) from dataset_bounds as batch) >= (
                select max(seen.observed_at)
                from {{ this }} as seen
                where seen.origin = 'dataset'
            ),
            true
        ) as batch_in_time,
        (select min(batch.min_event_at) from dataset_bounds as batch) as batch_min_event_at,
        (
            select min(seen.event_at)
            from {{ this }} as seen
            where seen.origin = 'dataset'
        ) as processed_min_event_at,
        (
            select sync.recorded_at
            from {{ states }} as sync
            where sync.profile_url = ''
        ) = (
            select max(seen.recorded_at)
            from {{ this }} as seen
        ) as states_in_step
),

-- each observation with its profile's state: fast when that state is what the history
-- path would compare it with - the last recorded LinkedIn observation, or an intake
-- baseline loaded before the observation and before any LinkedIn observation processed
-- (so no LinkedIn observation that agreed with an older baseline is being skipped), or
-- none at all (a profile never observed). Compared in the same pass: only what the fast
-- path records and what goes on to the history path leave it (a few percent of a
-- refresh, not the observations that agree with their state).
routed as (
    select *
    from (
        select
            observed.*,
            {{ column_list('states.{c} as state_{c}', ['observation_key', 'origin', 'observed_at'] + state_columns) }},
            coalesce(
                bounds.states_in_step
                and bounds.new_datasets = 1
                and bounds.batch_in_time
                and new_intake.profile_url is null
                and (
                    states.observation_key is null
                    or states.origin = 'linkedin'
                    or (
                        states.loaded_at <= bounds.batch_min_event_at
                        and states.loaded_at <= coalesce(bounds.processed_min_event_at, states.loaded_at)
                    )
                ),
                false
            ) as is_fast,
            case
                when states.observation_key is not null then {{ employer_changed('observed.', 'states.') }}
            end as employer_changed,
            case
                when states.observation_key is not null then {{ title_changed('observed.', 'states.') }}
            end as title_changed
        from linkedin_observed as observed
        cross join bounds
        {%- if small_batch %}
        left join lateral (
            select * from {{ states }} as state_row
            where state_row.profile_url = observed.profile_url
            limit 1
        ) as states on true
        {%- else %}
        left join {{ states }} as states on observed.profile_url = states.profile_url
        {%- endif %}
        left join new_intake_profiles as new_intake on observed.profile_url = new_intake.profile_url
    ) as compared
    where
        not compared.is_fast
        or compared.state_observation_key is null
        or (compared.state_origin = 'linkedin' and {{ observation_state_differs('compared.', 'compared.state_') }})
        or (
            compared.state_origin = 'intake'
            and (
                compared.title is distinct from compared.state_title
                or compared.employer_changed
                or compared.title_changed
            )
        )
),

-- the observations the fast path records: each differs from its state (or has none)
fast_candidates as (
    select
        routed.*,
        coalesce(routed.employer_changed or routed.title_changed, false) as is_change,
        routed.state_observation_key as previous_observation_key
    from routed
    where routed.is_fast
),

-- only the first item of a profile in a dataset counts (stg_apify__profile_items' rule):
-- the rows to store that have an earlier item (the few rows to store are hashed, the
-- batch streams past them - no sort of the batch)
superseded as (
    select distinct candidates.observation_key
    from fast_candidates as candidates
    inner join items as earlier
        on
            candidates.profile_url = earlier.profile_url
            and candidates.source_ref = earlier.dataset_id
    where
        earlier.has_name
        and earlier.item_shape is distinct from 'unparsed'
        and (coalesce(earlier.item_index, 9223372036854775807), earlier.item_key)
        < (coalesce(candidates.item_index, 9223372036854775807), candidates.item_key)
),

fast_recorded as (
    select * from fast_candidates
    where observation_key not in (select superseded.observation_key from superseded)
),

{% else %}

-- noqa: disable=LT02
routed as (
    select
        observed.*,
        false as is_fast
    from linkedin_observed as observed
),
-- noqa: enable=LT02

{% endif %}

-- the history path: the rest of the new observations, one per profile and dataset
history_new as (
    select *
    from (
        select
            routed.*,
            row_number() over (
                partition by routed.profile_url, routed.source_ref
                order by routed.item_index asc, routed.item_key asc
            ) as row_in_dataset
        from routed
        where not routed.is_fast
    ) as ranked
    where row_in_dataset = 1
),

history_profiles as (
    select distinct profile_url from history_new
),

{%- if incremental %}

-- observations of processed datasets that were not stored (equal to the one before them):
-- the history path needs them for the order of events
unstored as (
    select
        profiles.item_key,
        profiles.linkedin_url as profile_url,
        profiles.observed_at,
        profiles.loaded_at,
        profiles.title,
        profiles.company_name,
        profiles.company_linkedin_url,
        profiles.has_current_position
    from {{ ref('stg_apify__profile_items') }} as profiles
    where
        exists (select 1 from history_new)
        and {{ in_subquery(
            'profiles.dataset_id',
            "select seen.source_ref from " ~ this ~ " as seen where seen.origin = 'dataset'"
        ) }}
        and profiles.linkedin_url in (select history_profiles.profile_url from history_profiles)
        and profiles.item_shape is distinct from 'unparsed'
        and not exists (
            select 1
            from {{ this }} as seen
            where seen.observation_key = {{ dbt.concat(["'apify:'", 'profiles.item_key']) }}
        )
),

unstored_titles as (
    select distinct title from unstored where title is not null
),

unstored_title_map as (
    {{ observation_title_map('unstored_titles') }}
),

unstored_employers as (
    select distinct
        company_name as employer_name,
        company_linkedin_url as employer_linkedin_url,
        cast(null as {{ text }}) as employer_website
    from unstored
),

unstored_employer_map as (
    {{ observation_employer_map('unstored_employers') }}
),

{%- endif %}

-- what the windows work on: the history of the profiles concerned
history as (
    select
        {{ column_list('{c}', history_columns) }},
        true as is_new,
        false as is_unstored,
        cast(null as {{ dbt.type_boolean() }}) as stored_is_late
    from history_new
    union all
    select
        {{ column_list('{c}', history_columns) }},
        true as is_new,
        false as is_unstored,
        cast(null as {{ dbt.type_boolean() }}) as stored_is_late
    from intake_observed
    where profile_url in (select history_profiles.profile_url from history_profiles)
    {%- if incremental %}
    union all
    select
        {{ column_list('seen.{c}', history_columns) }},
        false as is_new,
        false as is_unstored,
        seen.is_late as stored_is_late
    from {{ this }} as seen
    where
        seen.origin in ('linkedin', 'intake')
        and exists (select 1 from history_new)
        and seen.profile_url in (select history_profiles.profile_url from history_profiles)
    union all
    select
        {{ dbt.concat(["'apify:'", 'unstored.item_key']) }} as observation_key,
        'linkedin' as origin,
        unstored.profile_url,
        unstored.observed_at,
        unstored.loaded_at,
        case when unstored.observed_at < unstored.loaded_at then unstored.observed_at else unstored.loaded_at end
            as event_at,
        unstored.title,
        unstored_title_map.title_key,
        unstored.has_current_position,
        unstored.company_name as employer_name,
        unstored_employer_map.employer_linkedin_url,
        unstored_employer_map.employer_domain,
        unstored_employer_map.employer_name_key,
        unstored_employer_map.employer_company_id,
        false as is_new,
        true as is_unstored,
        cast(null as {{ dbt.type_boolean() }}) as stored_is_late
    from unstored
    left join unstored_title_map on unstored.title = unstored_title_map.title_given
    left join unstored_employer_map
        on
            coalesce(unstored.company_name, '') = unstored_employer_map.employer_name_match
            and coalesce(unstored.company_linkedin_url, '') = unstored_employer_map.employer_linkedin_url_match
    {%- endif %}
),

-- A LinkedIn observation is late when one loaded before it was observed after it (an old
-- export imported after newer data): recorded, but not compared, and nothing is compared
-- with it. (Intake rows get windows of their own partition here; only LinkedIn rows use them.)
linkedin_flagged as (
    select
        *,
        case
            when origin <> 'linkedin' then false
            when is_new or is_unstored
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

-- the in-time LinkedIn observations of a profile in load order (= observation-time order)
-- form its chain; late rows form a partition of their own
in_time as (
    select
        *,
        lag(observation_key) over chain as lag_key,
        row_number() over chain as chain_position
    from linkedin_flagged
    window chain as (partition by profile_url, origin, is_late_now order by loaded_at, observation_key)
),

-- a chain starts from its intake baseline: the latest intake row loaded no later than its
-- first observation was made and loaded. All rows in one time order (intake rows first on
-- ties); each row falls in the group the last intake row before it opened (group 0: none),
-- so a group's first row is its intake row.
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
            case when origin = 'intake' then 0 else 1 end as origin_rank
        from in_time
    ) as in_time_events
),

baselines as (
    select
        *,
        case when intake_group > 0 then first_value(observation_key) over intake_rows_first end as group_key
    from baseline_groups
    window intake_rows_first as (
        partition by profile_url, intake_group
        order by event_at, origin_rank, observation_key
        rows between unbounded preceding and current row
    )
),

chains as (
    select
        *,
        first_value(group_key) over (
            partition by profile_url, origin, is_late_now
            order by loaded_at, observation_key
            rows between unbounded preceding and current row
        ) as chain_baseline_key
    from baselines
),

-- each LinkedIn row with the state of the row before it and of its chain's baseline (the
-- windows carry keys only: one lookup each, not a window per state column)
paired as (
    select
        chains.*,
        {{ column_list('previous.{c} as previous_{c}', state_columns) }},
        {{ column_list('baseline.{c} as baseline_{c}', state_columns) }},
        baseline.origin as baseline_origin,
        baseline.observed_at as baseline_observed_at
    from chains
    left join history as previous on chains.lag_key = previous.observation_key
    left join history as baseline on chains.chain_baseline_key = baseline.observation_key
    where chains.origin = 'linkedin' and not chains.is_late_now
),

compared as (
    select
        *,
        {{ employer_changed('', 'baseline_') }} as baseline_employer_changed,
        {{ title_changed('', 'baseline_') }} as baseline_title_changed,
        {{ employer_changed('', 'previous_') }} as previous_employer_changed,
        {{ title_changed('', 'previous_') }} as previous_title_changed,
        lag_key is not null and {{ observation_state_differs('', 'previous_') }} as differs_from_previous
    from paired
),

-- the chain's first recorded observation (its anchor): the first stored one, or the first
-- new one that differs from the baseline (or has none). Up to it, observations are
-- compared with the baseline; after it, with the observation before them.
anchored as (
    select
        *,
        min(
            case
                when not is_new and not is_unstored then chain_position
                when
                    is_new and (
                        chain_baseline_key is null
                        or baseline_employer_changed
                        or baseline_title_changed
                        or title is distinct from baseline_title
                    )
                    then chain_position
            end
        ) over (partition by profile_url, origin, is_late_now) as anchor_position
    from compared
),

decided as (
    select
        *,
        case
            when not is_new then not is_unstored
            when anchor_position is null or chain_position < anchor_position then false
            when chain_position = anchor_position then true
            else differs_from_previous
        end as is_recorded,
        anchor_position is null or chain_position <= anchor_position as against_baseline
    from anchored
),

-- the recorded observation before each row: the group a recorded row opens runs to the
-- next recorded row
recorded_groups as (
    select
        *,
        count(case when is_recorded then 1 end) over chain as recorded_group
    from decided
    window chain as (
        partition by profile_url, origin, is_late_now
        order by loaded_at, observation_key
        rows between unbounded preceding and current row
    )
),

group_openers as (
    select
        *,
        case
            when recorded_group > 0 then first_value(observation_key) over (
                partition by profile_url, origin, is_late_now, recorded_group
                order by loaded_at, observation_key
                rows between unbounded preceding and current row
            )
        end as group_opener_key,
        case
            when recorded_group > 0 then first_value(observed_at) over (
                partition by profile_url, origin, is_late_now, recorded_group
                order by loaded_at, observation_key
                rows between unbounded preceding and current row
            )
        end as group_opener_observed_at
    from recorded_groups
),

history_decided as (
    select
        observation_key,
        is_recorded,
        is_new,
        case
            when against_baseline then chain_baseline_key
            else lag(group_opener_key) over chain
        end as previous_observation_key,
        case
            when against_baseline and chain_baseline_key is null then null
            when against_baseline then baseline_employer_changed
            else previous_employer_changed
        end as employer_changed,
        case
            when against_baseline and chain_baseline_key is null then null
            when against_baseline then baseline_title_changed
            else previous_title_changed
        end as title_changed,
        -- the state compared with: the baseline's, or the previous row's (a row that is not
        -- recorded has the state of its group's opener, which is what it points to)
        case
            when against_baseline then baseline_origin
            when lag(group_opener_key) over chain is not null then 'linkedin'
        end as previous_origin,
        case
            when against_baseline then baseline_observed_at
            else lag(group_opener_observed_at) over chain
        end as previous_observed_at,
        case when against_baseline then baseline_title else previous_title end as previous_title,
        case when against_baseline then baseline_employer_name else previous_employer_name end
            as previous_employer_name,
        case when against_baseline then baseline_employer_linkedin_url else previous_employer_linkedin_url end
            as previous_employer_linkedin_url,
        case when against_baseline then baseline_employer_domain else previous_employer_domain end
            as previous_employer_domain,
        case when against_baseline then baseline_employer_company_id else previous_employer_company_id end
            as previous_employer_company_id
    from group_openers
    window chain as (
        partition by profile_url, origin, is_late_now
        order by loaded_at, observation_key
    )
),

-- the new rows the history path records: compared LinkedIn rows, late rows, intake rows
history_recorded as (
    select
        {{ column_list('new_rows.{c}', row_columns | reject('equalto', 'full_name') | list) }},
        new_rows.full_name_given,
        new_rows.first_name_given,
        new_rows.last_name_given,
        coalesce(late.is_late_now, false) as is_late,
        decided.previous_observation_key,
        decided.employer_changed,
        decided.title_changed,
        coalesce(decided.employer_changed or decided.title_changed, false) as is_change,
        {{ column_list('decided.{c}', previous_columns) }}
    from (
        select
            {{ column_list('{c}', row_columns | reject('equalto', 'full_name') | list) }},
            full_name_given,
            first_name_given,
            last_name_given
        from history_new
        union all
        select
            {{ column_list('{c}', row_columns | reject('equalto', 'full_name') | list) }},
            full_name_given,
            first_name_given,
            last_name_given
        from intake_observed
    ) as new_rows
    left join history_decided as decided
        on new_rows.observation_key = decided.observation_key and decided.is_new
    left join linkedin_flagged as late
        on new_rows.observation_key = late.observation_key and late.is_new and late.is_late_now
    where
        new_rows.origin = 'intake'
        or late.observation_key is not null
        or decided.is_recorded
),

datasets as (
    select
        {{ dbt.concat(["'dataset:'", 'dataset_id']) }} as observation_key,
        'dataset' as origin,
        cast(null as {{ text }}) as profile_url,
        max_observed_at as observed_at,
        max_loaded_at as loaded_at,
        min_event_at as event_at,
        job_unique_id,
        dataset_id as source_ref
    from dataset_bounds
),

recorded as (
    {%- if states is not none %}
    select
        {{ column_list('{c}', row_columns | reject('equalto', 'full_name') | list) }},
        {{ full_name }} as full_name,
        false as is_late,
        previous_observation_key,
        employer_changed,
        title_changed,
        is_change,
        {{ column_list('state_{c} as previous_{c}', compared_columns) }}
    from fast_recorded
    union all
    {%- endif %}
    select
        {{ column_list('{c}', row_columns | reject('equalto', 'full_name') | list) }},
        {{ full_name }} as full_name,
        is_late,
        previous_observation_key,
        employer_changed,
        title_changed,
        is_change,
        {{ column_list('{c}', previous_columns) }}
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
            'title': text, 'title_key': text, 'has_current_position': dbt.type_boolean(),
            'employer_name': text, 'employer_linkedin_url': text, 'employer_domain': text,
            'employer_name_key': text, 'employer_company_id': dbt.type_bigint(),
        }) }},
        cast(null as {{ text }}) as full_name,
        false as is_late,
        cast(null as {{ text }}) as previous_observation_key,
        cast(null as {{ dbt.type_boolean() }}) as employer_changed,
        cast(null as {{ dbt.type_boolean() }}) as title_changed,
        false as is_change,
        {{ column_list('cast(null as {t}) as previous_{c}', compared_columns, types=observation_state_types()) }}
    from datasets
),

final as (
    select
        {{ column_list('{c}', output_columns) }},
        {{ recorded_at }} as recorded_at
    from recorded
)

select * from final
