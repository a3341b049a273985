"""PLE enqueue messages (``marketing.ple_enqueue_outbox``) -> ``PLE_WEBHOOK_URL``.

One message per detected change (``marketing.people_intelligence``), sent once, HMAC-signed
with ``OUTREACH_WEBHOOK_SECRET``, ``Idempotency-Key`` = the change's ``intel_unique_id``,
through ``exports.outbox.deliver`` (target ``ple``). The changes of one person go out in
the order they were detected: while a person's earlier message has not been delivered
(refused this run, or the receiver went away), their later ones wait. A dead-lettered
message no longer holds the person back; requeued, it goes out after the later ones.

``OUTREACH_PLE_ENVELOPE=heir_orbt`` wraps each payload as the lead engine's HEIR/ORBT
tool call::

    {"tool": "ple_enqueue_lead", "data": <payload>, "unique_id": <intel_unique_id>,
     "process_id": "04.04.04", "orbt_layer": 2, "blueprint_version": "1.0"}

(``process_id`` is the people-intelligence process, as in ``marketing.unified_audit_log``.)
Without ``PLE_WEBHOOK_URL`` nothing is sent and the messages wait in the outbox.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from exports.config import ExportConfigError, run_export
from exports.outbox import DeliveryReport, Encode, OutboxSpec
from outreach.settings import load_settings

TARGET = "ple"
PLE_OUTBOX = OutboxSpec(
    target=TARGET,
    relation="marketing.ple_enqueue_outbox",
    id_column="outbox_id",
    order_column="person_unique_id",
)
PROCESS_ID = "04.04.04"  # people intelligence (Barton process of intel_unique_id)


def heir_orbt(outbox_id: str, payload: str) -> bytes:
    """The HEIR/ORBT envelope around one PLE payload (deterministic: same row, same body)."""
    envelope = {
        "tool": "ple_enqueue_lead",
        "data": json.loads(payload),
        "unique_id": outbox_id,
        "process_id": PROCESS_ID,
        "orbt_layer": 2,
        "blueprint_version": "1.0",
    }
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def envelope_encoder(name: str | None) -> Encode | None:
    if name is None or name.lower() in ("", "none", "raw"):
        return None
    if name.lower() == "heir_orbt":
        return heir_orbt
    raise ExportConfigError(
        f"OUTREACH_PLE_ENVELOPE={name!r}: use heir_orbt (or leave it unset for the payload as is)"
    )


def deliver_ple(
    database_url: str,
    *,
    webhook_url: str | None = None,
    secret: str | None = None,
    envelope: str | None = None,
    progress: Callable[[str], Any] = print,
    retry_dead: bool = False,
    **webhook_options: Any,
) -> DeliveryReport:
    """Send every undelivered PLE enqueue message; see ``exports.outbox.deliver``."""
    settings = load_settings()
    return run_export(
        database_url,
        [PLE_OUTBOX],
        url=webhook_url or settings.ple_webhook_url,
        url_variable="PLE_WEBHOOK_URL",
        secret=secret or settings.webhook_secret,
        settings=settings,
        progress=progress,
        encode=envelope_encoder(envelope or settings.ple_envelope),
        retry_dead=retry_dead,
        **webhook_options,
    )
