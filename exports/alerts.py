"""KPI alert notifications (``marketing.kpi_alert_notifications``) -> ``ALERT_WEBHOOK_URL``.

The alert step of the pipeline (Dagster asset ``exports/kpi_alerts_webhook``, the demo):
every new row of the outbox goes out once, HMAC-signed with ``OUTREACH_WEBHOOK_SECRET``,
through ``exports.outbox.deliver``. Without ``ALERT_WEBHOOK_URL`` nothing is sent and the
rows wait in the outbox (they go out on the first run that has a URL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exports.outbox import DeliveryReport, OutboxSpec, Webhook, deliver, pending_count
from outreach.settings import load_settings

ALERT_OUTBOX = OutboxSpec(
    target="alerts",
    relation="marketing.kpi_alert_notifications",
    id_column="notification_id",
)


class AlertConfigError(Exception):
    """ALERT_WEBHOOK_URL is set but OUTREACH_WEBHOOK_SECRET is not: refuse to send unsigned."""


def deliver_alerts(
    database_url: str,
    *,
    webhook_url: str | None = None,
    secret: str | None = None,
    progress: Callable[[str], Any] = print,
    **webhook_options: Any,
) -> DeliveryReport:
    """Send every undelivered alert notification; see ``exports.outbox.deliver``."""
    settings = load_settings()
    url = webhook_url or settings.alert_webhook_url
    secret = secret or settings.webhook_secret
    if not url:
        report = DeliveryReport(target=ALERT_OUTBOX.target, relation=ALERT_OUTBOX.relation)
        pending = pending_count(database_url, ALERT_OUTBOX)
        report.missing_relation = pending is None
        report.pending_before = report.pending_after = pending or 0
        report.stopped = "ALERT_WEBHOOK_URL is not set: notifications wait in the outbox"
        progress(f"{report.stopped} ({report.pending_after} pending)")
        return report
    if not secret:
        raise AlertConfigError(
            "ALERT_WEBHOOK_URL is set but OUTREACH_WEBHOOK_SECRET is not: alerts are only sent "
            "signed; set the secret the receiver verifies with"
        )
    return deliver(
        database_url, ALERT_OUTBOX, Webhook(url, secret, **webhook_options), progress=progress
    )
