"""Sensors.

- ``linkedin_refresh_rate_limit_retry`` (Apify), ``linkedin_ads_kpi_trigger`` (KPI models
  and the alert step right after each LinkedIn Ads load) and ``ple_outbox_trigger`` (the PLE
  export each time its outbox model builds); ``email_events_arrivals`` (new webhook events
  recorded as materializations of the raw_events tables: orchestration/assets/campaigns.py).
- ``pipeline_run_failures``: every failed Dagster run becomes a ``dagster.run`` pipeline
  event (status failed) and a pipeline error (record_id = the run id) in ``raw_ops``
  (outreach/events.py), so ``marketing.pipeline_errors``, ``vw_unresolved_errors`` and the
  error-rate threshold see it; alerts go out through ``marketing.ops_alert_notifications``.
  A run that failed only on operator mistakes (``OperatorError``: a missing file, an unset
  key) is not a pipeline error and is not recorded; one that only skipped (``SkippedRun``:
  an open circuit breaker) is recorded as a ``skipped`` event, without an error.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from orchestration.assets.ads import ads_sensors
from orchestration.assets.apify import linkedin_refresh_rate_limit_retry
from orchestration.assets.campaigns import campaigns_sensors
from orchestration.assets.exports import exports_sensors


def _root_errors(context: dg.RunFailureSensorContext) -> list[tuple[str, Any]]:
    """(step key, root cause error info or None) of each failed step."""
    steps = []
    for event in context.get_step_failure_events():
        error = getattr(event.event_specific_data, "error", None)
        while error is not None and error.cause is not None:  # the root cause says most
            error = error.cause
        steps.append((event.step_key, error))
    return steps


def _only(context: dg.RunFailureSensorContext, names: set[str]) -> bool:
    causes = [error for _, error in _root_errors(context)]
    return bool(causes) and all(e is not None and e.cls_name in names for e in causes)


def operator_mistake_only(context: dg.RunFailureSensorContext) -> bool:
    """True when every failed step failed on an operator mistake (an ``OperatorError``)."""
    from outreach.events import operator_error_names

    return _only(context, operator_error_names())


def skipped_only(context: dg.RunFailureSensorContext) -> bool:
    """True when every failed step only skipped (``SkippedRun``: an open circuit breaker)."""
    from outreach.events import SkippedRun

    return _only(context, {SkippedRun.__name__})


def run_failure_facts(context: dg.RunFailureSensorContext) -> tuple[dict, str]:
    """The payload and error message recorded for a failed run."""
    run = context.dagster_run
    messages = {e.step_key: e.message for e in context.get_step_failure_events()}
    steps = [
        (step, error.message.strip() if error else messages[step])
        for step, error in _root_errors(context)
    ]
    payload = {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "tags": {k: v for k, v in run.tags.items() if not k.startswith(".dagster")},
        "failed_steps": [step for step, _ in steps],
    }
    lines = [f"run {run.run_id} of {run.job_name} failed"]
    lines += [f"{step}: {message}" for step, message in steps]
    if not steps and context.failure_event.message:
        lines.append(context.failure_event.message)
    return payload, "\n".join(lines)


@dg.run_failure_sensor(
    name="pipeline_run_failures",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run as a pipeline event and error in raw_ops.",
)
def pipeline_run_failures(context: dg.RunFailureSensorContext) -> None:
    from outreach.events import record_error, record_event
    from outreach.warehouse import database_url

    if operator_mistake_only(context):
        context.log.info(
            f"run {context.dagster_run.run_id} failed on an operator mistake: not recorded"
        )
        return
    payload, message = run_failure_facts(context)
    url = database_url()
    if skipped_only(context):
        event_id = record_event(url, "dagster.run", {**payload, "skipped": message}, "skipped")
        context.log.info(f"run {context.dagster_run.run_id} skipped: event {event_id}")
        return
    event_id = record_event(url, "dagster.run", payload, status="failed")
    error_id = record_error(
        url, "dagster.run", context.dagster_run.run_id, message, "error", event_id=event_id
    )
    context.log.info(f"recorded failed run {context.dagster_run.run_id} as error {error_id}")


# LinkedIn Ads: KPI models + alert step right after each load (orchestration/assets/ads.py)
sensors: list[dg.SensorDefinition] = [
    linkedin_refresh_rate_limit_retry,
    *ads_sensors,
    pipeline_run_failures,
    *exports_sensors,
    *campaigns_sensors,
]
