{#-
    Every enabled monitoring threshold (seed monitoring_thresholds) with the value of its
    metric over its time_window ending at as_of: one row per threshold and subject
    (`linkedin_refresh`, `pipeline`, or the event type for pipeline_error_rate), with an
    evidence key naming what the value was computed from (the newest job, the last
    successful job, the oldest pending event, the hour). An alert id built from the
    threshold, subject and evidence is stable across rebuilds until the evidence changes.
-#}
with

thresholds as (
    select * from {{ ref('monitoring_thresholds') }}
    where enabled
),

scoped as (
    select * from {{ ref('int_ops_threshold_windows') }}
),

jobs as (
    select
        id,
        job_unique_id,
        status,
        total_profiles,
        profiles_changed,
        profiles_skipped,
        created_at,
        run_completed_at,
        coalesce(run_completed_at, updated_at) as ended_at,
        {{ seconds_between(
            'coalesce(run_started_at, created_at)', 'coalesce(run_completed_at, updated_at)'
        ) }} as duration_seconds
    from {{ ref('linkedin_refresh_jobs') }}
),

events as (
    select * from {{ ref('stg_ops__pipeline_events') }}
),

errors as (
    select * from {{ ref('stg_ops__pipeline_errors') }}
),

-- refresh job metrics over the jobs that ended in the window
refresh_windowed as (
    select
        scoped.threshold_id,
        scoped.metric,
        scoped.window_start,
        scoped.evaluated_at,
        case scoped.metric
            when 'refresh_failure_rate'
                then
                    1.0 * sum(case when jobs.status = 'failed' then 1 else 0 end)
                    / nullif(count(jobs.id), 0)
            when 'refresh_change_rate'
                then
                    1.0 * sum(case when jobs.status = 'completed' then jobs.profiles_changed end)
                    / nullif(sum(
                        case when jobs.status = 'completed' then jobs.total_profiles - jobs.profiles_skipped end
                    ), 0)
            when 'refresh_skip_rate'
                then
                    1.0 * sum(case when jobs.status = 'completed' then jobs.profiles_skipped end)
                    / nullif(sum(case when jobs.status = 'completed' then jobs.total_profiles end), 0)
            when 'refresh_duration_minutes'
                then max(jobs.duration_seconds) / 60.0
        end as observed_value,
        count(jobs.id) as sample_size,
        max(jobs.id) as newest_job_id
    from scoped
    left join jobs
        on
            jobs.status in ('completed', 'failed')
            and scoped.window_start < jobs.ended_at
            and scoped.evaluated_at >= jobs.ended_at
    where
        scoped.metric in (
            'refresh_failure_rate', 'refresh_change_rate', 'refresh_skip_rate', 'refresh_duration_minutes'
        )
    group by scoped.threshold_id, scoped.metric, scoped.window_start, scoped.evaluated_at
),

-- days since the last completed refresh (since the first job when none completed)
refresh_staleness as (
    select
        scoped.threshold_id,
        scoped.metric,
        scoped.window_start,
        scoped.evaluated_at,
        {{ seconds_between(
            "coalesce(max(case when jobs.status = 'completed' then jobs.run_completed_at end), "
            ~ "min(jobs.created_at))",
            'scoped.evaluated_at'
        ) }} / 86400.0 as observed_value,
        count(jobs.id) as sample_size,
        max(case when jobs.status = 'completed' then jobs.id end) as last_success_id
    from scoped
    left join jobs on scoped.evaluated_at >= jobs.created_at
    where scoped.metric = 'refresh_days_since_success'
    group by scoped.threshold_id, scoped.metric, scoped.window_start, scoped.evaluated_at
),

-- events still pending longer than the window
pending as (
    select
        scoped.threshold_id,
        scoped.metric,
        scoped.window_start,
        scoped.evaluated_at,
        count(events.event_id) as observed_value,
        count(events.event_id) as sample_size,
        min(events.event_id) as oldest_event_id
    from scoped
    left join events
        on
            events.status = 'pending'
            and scoped.window_start >= events.created_at
    where scoped.metric = 'pending_events'
    group by scoped.threshold_id, scoped.metric, scoped.window_start, scoped.evaluated_at
),

windowed_events as (
    select
        scoped.threshold_id,
        events.event_type,
        count(*) as events
    from scoped
    inner join events
        on scoped.window_start < events.created_at and scoped.evaluated_at >= events.created_at
    where scoped.metric = 'pipeline_error_rate' and events.status <> 'skipped'
    group by scoped.threshold_id, events.event_type
),

windowed_errors as (
    select
        scoped.threshold_id,
        errors.event_type,
        count(*) as errors
    from scoped
    inner join errors
        on scoped.window_start < errors.created_at and scoped.evaluated_at >= errors.created_at
    where scoped.metric = 'pipeline_error_rate'
    group by scoped.threshold_id, errors.event_type
),

error_subjects as (
    select
        threshold_id,
        event_type
    from windowed_events
    union
    select
        threshold_id,
        event_type
    from windowed_errors
),

error_rates as (
    select
        scoped.threshold_id,
        scoped.metric,
        scoped.window_start,
        scoped.evaluated_at,
        error_subjects.event_type as subject,
        {{ ops_error_rate('windowed_events.events', 'windowed_errors.errors') }} as observed_value,
        coalesce(windowed_events.events, 0) as sample_size
    from error_subjects
    inner join scoped on error_subjects.threshold_id = scoped.threshold_id
    left join windowed_events
        on
            error_subjects.threshold_id = windowed_events.threshold_id
            and error_subjects.event_type = windowed_events.event_type
    left join windowed_errors
        on
            error_subjects.threshold_id = windowed_errors.threshold_id
            and error_subjects.event_type = windowed_errors.event_type
),

campaign_values as (
    select * from {{ ref('int_ops_campaign_threshold_values') }}
),

-- one row per threshold and subject, whichever metric family computed it, with the key of
-- the evidence it was computed from
{%- set families = [
    ('refresh_windowed', "'linkedin_refresh'", ops_evidence_key('newest_job', 'newest_job_id')),
    ('refresh_staleness', "'linkedin_refresh'", ops_evidence_key('last_success', 'last_success_id')),
    ('pending', "'pipeline'", ops_evidence_key('oldest_pending', 'oldest_event_id')),
    ('error_rates', 'error_rates.subject', ops_evidence_key('hour', dbt.date_trunc('hour', 'evaluated_at'))),
    ('campaign_values', 'campaign_values.subject', 'campaign_values.evidence_key'),
] %}
unioned as (
    {% for family, subject, evidence_key in families -%}
        {% if not loop.first %}union all{% endif %}
        select
            threshold_id,
            metric,
            {{ subject }} as subject,
            window_start,
            evaluated_at,
            observed_value,
            sample_size,
            {{ evidence_key }} as evidence_key
        from {{ family }}
    {% endfor %}
),

final as (
    select
        unioned.threshold_id,
        thresholds.metric,
        cast(unioned.subject as {{ dbt.type_string() }}) as subject,
        thresholds.comparison,
        thresholds.threshold,
        thresholds.severity,
        thresholds.time_window,
        thresholds.description,
        unioned.window_start,
        unioned.evaluated_at,
        cast(unioned.observed_value as {{ dbt.type_numeric() }}) as observed_value,
        cast(unioned.sample_size as {{ dbt.type_bigint() }}) as sample_size,
        cast(unioned.evidence_key as {{ dbt.type_string() }}) as evidence_key,
        coalesce(
            case thresholds.comparison
                when 'above' then unioned.observed_value > thresholds.threshold
                when 'below' then unioned.observed_value < thresholds.threshold
            end,
            false
        ) as is_breached
    from unioned
    inner join thresholds on unioned.threshold_id = thresholds.threshold_id
)

select * from final
