{#-
    int_person_observations, part 4: each new LinkedIn observation routed to the fast path
    (compared with its profile's state, int_person_observation_states, by one join) or to
    the history path. Without states (first build, full refresh) everything takes the
    history path. CTEs: new_intake_profiles, bounds, routed (fast); routed (history only).
-#}
{% macro person_observations_routed(o) -%}
{%- if o.states is not none %}

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
            from {{ o.states }} as sync
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
            {{ column_list('states.{c} as state_{c}', ['observation_key', 'origin', 'observed_at'] + o.state_columns) }},
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
        {%- if o.small_batch %}
        left join lateral (
            select * from {{ o.states }} as state_row
            where state_row.profile_url = observed.profile_url
            limit 1
        ) as states on true
        {%- else %}
        left join {{ o.states }} as states on observed.profile_url = states.profile_url
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
)

{%- else %}

-- noqa: disable=LT02
routed as (
    select
        observed.*,
        false as is_fast
    from linkedin_observed as observed
),
-- noqa: enable=LT02

{%- endif %}
{%- endmacro %}
