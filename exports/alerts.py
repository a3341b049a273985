"""Alert notifications -> ``ALERT_WEBHOOK_URL``.

The alert step of the pipeline (Dagster asset ``exports/kpi_alerts_webhook``, the demo,
``outreach export alerts``): every new row of each alert outbox in ``ALERT_OUTBOXES`` goes
out once, HMAC-signed with ``OUTREACH_WEBHOOK_SECRET``, through ``exports.outbox.deliver``
(one target ``alerts``: one webhook, one lock, one circuit breaker; the notification ids
are unique across the outboxes). Without ``ALERT_WEBHOOK_URL`` nothing is sent and the
rows wait in the outbox (they go out on the first run that has a URL). An outbox whose
model is not built yet is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exports.config import ExportConfigError, run_export
from exports.outbox import DeliveryReport, OutboxSpec
from outreach.settings import load_settings

TARGET = "alerts"
ALERT_OUTBOX = OutboxSpec(
    target=TARGET,
    relation="marketing.kpi_alert_notifications",
    id_column="notification_id",
)
# Every alert outbox delivered to ALERT_WEBHOOK_URL, in this order; a new one is one line.
OPS_ALERT_OUTBOX = OutboxSpec(
    target=TARGET,
    relation="marketing.ops_alert_notifications",
    id_column="notification_id",
)
ALERT_OUTBOXES: list[OutboxSpec] = [
    ALERT_OUTBOX,
    OPS_ALERT_OUTBOX,
]

# ALERT_WEBHOOK_URL is set but OUTREACH_WEBHOOK_SECRET is not (or a limit is malformed)
AlertConfigError = ExportConfigError


def deliver_alerts(
    database_url: str,
    *,
    webhook_url: str | None = None,
    secret: str | None = None,
    progress: Callable[[str], Any] = print,
    retry_dead: bool = False,
    outboxes: list[OutboxSpec] | None = None,
    **webhook_options: Any,
) -> DeliveryReport:
    """Send every undelivered alert notification; see ``exports.outbox.deliver``."""
    settings = load_settings()
    return run_export(
        database_url,
        outboxes or ALERT_OUTBOXES,
        url=webhook_url or settings.alert_webhook_url,
        url_variable="ALERT_WEBHOOK_URL",
        secret=secret or settings.webhook_secret,
        settings=settings,
        progress=progress,
        retry_dead=retry_dead,
        **webhook_options,
    )
