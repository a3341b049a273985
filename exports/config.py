"""What the exports share: webhook settings from the environment, checked once, and a run
over several outbox relations of one target.

| variable | meaning |
| --- | --- |
| ``PLE_WEBHOOK_URL``, ``ALERT_WEBHOOK_URL`` | where each target POSTs (unset: rows wait) |
| ``OUTREACH_WEBHOOK_SECRET`` | HMAC-SHA256 key of the signature header (required to send) |
| ``OUTREACH_EXPORT_MAX_ATTEMPTS`` | answered failed attempts before a row is dead-lettered (5) |
| ``OUTREACH_EXPORT_BREAKER_COOLDOWN_S`` | seconds a target's circuit breaker stays open (300) |
| ``OUTREACH_EXPORT_DEADLINE_S`` | seconds one delivery attempt may take in all (30) |
| ``OUTREACH_NOTIFY_CHANNEL`` | ``pg_notify`` channel for each delivered row (unset: none) |
| ``OUTREACH_PLE_ENVELOPE`` | ``heir_orbt``: wrap PLE payloads (exports/ple.py) |
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from exports.outbox import (
    DeliveryReport,
    Encode,
    OutboxSpec,
    Webhook,
    deliver,
    pending_count,
    requeue_dead,
)
from outreach.events import OperatorError
from outreach.settings import Settings, load_settings

_CHANNEL = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ExportConfigError(OperatorError):
    """The export cannot run as configured (a webhook URL without the secret, a bad value)."""


def _number(name: str, raw: str | None, default: float, kind: type, minimum: float) -> Any:
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ExportConfigError(f"{name}={raw!r} is not a {kind.__name__}") from None
    if value < minimum:
        raise ExportConfigError(f"{name} must be at least {minimum}, not {raw}")
    return value


def notify_channel(settings: Settings) -> str | None:
    channel = settings.notify_channel
    if channel is not None and not _CHANNEL.match(channel):
        raise ExportConfigError(
            f"OUTREACH_NOTIFY_CHANNEL={channel!r}: use a lowercase identifier "
            "(letters, digits, _; at most 63) so workers can LISTEN to it unquoted"
        )
    return channel


def webhook(
    url: str, secret: str | None, url_variable: str, settings: Settings, **options: Any
) -> Webhook:
    """A Webhook for ``url`` with the limits from the environment (``options`` win)."""
    if not secret:
        raise ExportConfigError(
            f"{url_variable} is set but OUTREACH_WEBHOOK_SECRET is not: deliveries are only "
            "sent signed; set the secret the receiver verifies with"
        )
    if not url.startswith(("http://", "https://")):
        raise ExportConfigError(f"{url_variable} must be an http:// or https:// URL")
    limits = {
        "dead_letter_after": _number(
            "OUTREACH_EXPORT_MAX_ATTEMPTS", settings.export_max_attempts, 5, int, 1
        ),
        "breaker_cooldown_s": _number(
            "OUTREACH_EXPORT_BREAKER_COOLDOWN_S",
            settings.export_breaker_cooldown_s,
            300.0,
            float,
            0,
        ),
        "deadline_s": _number(
            "OUTREACH_EXPORT_DEADLINE_S", settings.export_deadline_s, 30.0, float, 0.1
        ),
    }
    return Webhook(url, secret, **{**limits, **options})


def run_export(database_url: str, specs: Sequence[OutboxSpec], **options: Any) -> DeliveryReport:
    """Deliver every outbox relation of one target in turn; one combined report.

    Without a URL nothing is sent and the rows wait (the report says why). A relation that
    does not exist yet is skipped (reported as missing). Each run is a pipeline event
    ``export.<target>`` (outreach/events.py): failed, with an error, when the receiver was
    unavailable, the breaker opened or rows were refused; skipped (no error) when the
    open breaker skipped the run without an attempt."""
    from outreach.events import recording

    target = specs[0].target if specs else "unknown"
    with recording(
        database_url, f"export.{target}", {"relations": [s.relation for s in specs]}
    ) as event:
        report = _run_export(database_url, specs, **options)
        event.update(summary=report.as_dict())
        if options.get("url") and report.breaker_open and not report.attempts:
            # the open breaker skipped the run: nothing was tried, nothing newly failed
            event.skip(report.stopped or "circuit breaker open")
        elif options.get("url") and report.stopped:
            event.fail(f"export {target} stopped: {report.stopped}")
        elif report.failed_rows or report.dead_lettered:
            event.fail(
                f"export {target}: the receiver refused {report.failed_rows} rows "
                f"({report.dead_lettered} dead-lettered)",
                severity="warning",
            )
    return report


def _run_export(
    database_url: str,
    specs: Sequence[OutboxSpec],
    *,
    url: str | None,
    url_variable: str,
    secret: str | None,
    settings: Settings | None = None,
    progress: Callable[[str], Any] = print,
    encode: Encode | None = None,
    retry_dead: bool = False,
    **webhook_options: Any,
) -> DeliveryReport:
    settings = settings or load_settings()
    channel = notify_channel(settings)
    if not url:
        parts = []
        for spec in specs:
            part = DeliveryReport(target=spec.target, relation=spec.relation)
            pending = pending_count(database_url, spec)
            part.missing_relation = pending is None
            part.pending_before = part.pending_after = pending or 0
            parts.append(part)
        report = DeliveryReport.combine(parts)
        report.stopped = f"{url_variable} is not set: rows wait in the outbox"
        progress(f"{report.stopped} ({report.pending_after} pending)")
        return report
    hook = webhook(url, secret, url_variable, settings, **webhook_options)
    if retry_dead:
        for spec in specs:
            ids = requeue_dead(database_url, spec, reason="outreach export --retry-dead")
            if ids:
                progress(
                    f"{spec.target}: {len(ids)} dead-lettered rows of {spec.relation} requeued"
                )
    parts = [
        deliver(database_url, spec, hook, progress=progress, encode=encode, notify_channel=channel)
        for spec in specs
    ]
    return DeliveryReport.combine(parts)
