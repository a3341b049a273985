{{ config(materialized='view') }}

with

as_of as (
    select
        {{ as_of_timestamp() }} as window_end,
        {{ minus_duration(as_of_timestamp(), "'24 hours'") }} as window_start
),

events as (
    select
        events.event_type,
        count(*) as events,
        -- an abandoned run (killed before it could say) failed too
        sum(case when events.status in ('failed', 'abandoned') then 1 else 0 end) as failed_events,
        sum(case when events.status = 'pending' then 1 else 0 end) as pending_events
    from {{ ref('stg_ops__pipeline_events') }} as events
    cross join as_of
    where
        events.created_at > as_of.window_start and events.created_at <= as_of.window_end
        -- a skipped run (an open circuit breaker) did nothing: no run to count
        and events.status <> 'skipped'
    group by events.event_type
),

errors as (
    select
        errors.event_type,
        count(*) as errors,
        sum(case when errors.resolved then 0 else 1 end) as unresolved_errors
    from {{ ref('stg_ops__pipeline_errors') }} as errors
    cross join as_of
    where errors.created_at > as_of.window_start and errors.created_at <= as_of.window_end
    group by errors.event_type
),

event_types as (
    select event_type from events
    union
    select event_type from errors
),

final as (
    select
        event_types.event_type,
        cast(coalesce(events.events, 0) as {{ dbt.type_bigint() }}) as events,
        cast(coalesce(events.failed_events, 0) as {{ dbt.type_bigint() }}) as failed_events,
        cast(coalesce(events.pending_events, 0) as {{ dbt.type_bigint() }}) as pending_events,
        cast(coalesce(errors.errors, 0) as {{ dbt.type_bigint() }}) as errors,
        cast(coalesce(errors.unresolved_errors, 0) as {{ dbt.type_bigint() }}) as unresolved_errors,
        {{ ops_error_rate('events.events', 'errors.errors') }} as error_rate,
        as_of.window_start,
        as_of.window_end
    from event_types
    cross join as_of
    left join events on event_types.event_type = events.event_type
    left join errors on event_types.event_type = errors.event_type
)

select * from final
