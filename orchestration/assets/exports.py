"""Outbound deliveries in Dagster: the PLE enqueue export after its outbox model builds.

- ``exports/ple_enqueue_webhook`` (downstream of the dbt asset ``marketing/ple_enqueue_outbox``)
  POSTs every undelivered row of the PLE outbox to ``PLE_WEBHOOK_URL``
  (``exports.ple.deliver_ple``: signed, Idempotency-Key = intel_unique_id, per-person order,
  dead letter, circuit breaker; every attempt in ``raw_ops.deliveries``).
- ``ple_export_job`` runs it; the ``ple_outbox_trigger`` sensor starts the job whenever
  ``marketing/ple_enqueue_outbox`` materializes (any ``dbt build`` that includes it).
- When the receiver is unavailable or the circuit breaker is open the asset fails (the
  rows stay pending) and its retry policy tries again later; without ``PLE_WEBHOOK_URL``
  it succeeds with a note (the rows wait).

The KPI alert step (``exports/kpi_alerts_webhook``) lives with the ads flow
(``orchestration/assets/ads.py``). Nothing here touches the warehouse at import time.
"""

from typing import Any

import dagster as dg

from orchestration.domains import EXPORTS
from orchestration.resources import WarehouseResource

EXPORTS_GROUP = EXPORTS
PLE_STEP_KEY = dg.AssetKey(["exports", "ple_enqueue_webhook"])
PLE_OUTBOX_KEY = dg.AssetKey(["marketing", "ple_enqueue_outbox"])
PLE_JOB = "ple_export_job"


def delivery_metadata(report, url: str, target: str) -> dict[str, Any]:
    """What an export run did, and the delivery state of the target's outbox rows."""
    metadata: dict[str, Any] = {
        "delivered": dg.MetadataValue.int(report.delivered),
        "pending": dg.MetadataValue.int(report.pending_after),
        "dead_lettered": dg.MetadataValue.int(report.dead_lettered),
        "dead_letters": dg.MetadataValue.int(report.dead_letters),
        "failed_attempts": dg.MetadataValue.int(report.attempts - report.delivered),
        "held_for_order": dg.MetadataValue.int(report.held_rows),
        "breaker_open": dg.MetadataValue.bool(report.breaker_open),
        "delivered_ids": dg.MetadataValue.json(report.delivered_ids[:200]),
    }
    if report.latencies_ms:
        ordered = sorted(report.latencies_ms)
        metadata["latency_p50_ms"] = dg.MetadataValue.float(round(ordered[len(ordered) // 2], 2))
    states = _state_counts(url, target)
    if states:
        lines = ["| state | rows |", "| --- | ---: |"]
        lines += [f"| {state} | {count:,} |" for state, count in states]
        metadata["delivery_state"] = dg.MetadataValue.md("\n".join(lines))
    return metadata


def _state_counts(url: str, target: str) -> list[tuple[str, int]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("select to_regclass('marketing.outbox_delivery_state')").fetchone()[0]:
            return conn.execute(
                "select state, count(*) from marketing.outbox_delivery_state where target = %s"
                " group by state order by state",
                (target,),
            ).fetchall()
    return []


def raise_if_unavailable(report, metadata: dict[str, Any], what: str) -> None:
    """Rows stay pending (nothing is lost): fail so the retry policy tries again later. A
    run the open breaker skipped without an attempt fails with a ``SkippedRun`` cause: the
    run-failure sensor records it as skipped, not as a pipeline error."""
    from outreach.events import SkippedRun

    if (
        report.stopped
        and report.pending_after
        and (report.breaker_open or "unavailable" in report.stopped)
    ):
        failure = dg.Failure(
            description=f"{what}: {report.stopped}; {report.pending_after} pending",
            metadata=metadata,
        )
        if report.breaker_open and not report.attempts:
            raise failure from SkippedRun(report.stopped)
        raise failure


@dg.asset(
    key=PLE_STEP_KEY,
    deps=[PLE_OUTBOX_KEY],
    group_name=EXPORTS_GROUP,
    kinds={"python", "webhook"},
    retry_policy=dg.RetryPolicy(
        max_retries=5, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    ),
    description=(
        "POSTs every new row of marketing.ple_enqueue_outbox to PLE_WEBHOOK_URL (JSON or the "
        "heir_orbt envelope, HMAC-SHA256 signed, Idempotency-Key = intel_unique_id), once per "
        "row and in order per person; every attempt is logged in raw_ops.deliveries and "
        "marketing.outbox_delivery_state shows each row's state."
    ),
)
def ple_enqueue_webhook(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from exports.config import ExportConfigError
    from exports.ple import TARGET, deliver_ple

    url = warehouse.url()
    try:
        report = deliver_ple(url, progress=context.log.info)
    except ExportConfigError as exc:
        raise dg.Failure(description=str(exc)) from None
    metadata = delivery_metadata(report, url, TARGET)
    raise_if_unavailable(report, metadata, "PLE webhook")
    if report.stopped:
        metadata["note"] = dg.MetadataValue.text(report.stopped)
    return dg.MaterializeResult(metadata=metadata)


ple_export_job = dg.define_asset_job(
    name=PLE_JOB,
    selection=dg.AssetSelection.assets(PLE_STEP_KEY),
    executor_def=dg.in_process_executor,
    description="Deliver the new PLE enqueue messages (marketing.ple_enqueue_outbox) to the PLE.",
)


@dg.asset_sensor(
    asset_key=PLE_OUTBOX_KEY,
    job=ple_export_job,
    name="ple_outbox_trigger",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts ple_export_job each time marketing/ple_enqueue_outbox materializes.",
)
def ple_outbox_trigger(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    return dg.RunRequest(
        run_key=f"ple-outbox-{asset_event.storage_id}",
        tags={"outreach/trigger": "ple_outbox_built"},
    )


exports_assets = [ple_enqueue_webhook]
exports_jobs = [ple_export_job]
exports_sensors = [ple_outbox_trigger]
