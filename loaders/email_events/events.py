"""Email-platform events into one raw shape: SendGrid Event Webhook batches and Amazon SES
notifications become ``EmailEvent`` rows, one per event and recipient.

SendGrid (Event Webhook reference): the body is a JSON array of event objects - ``email``,
``timestamp`` (Unix seconds), ``event``, ``sg_event_id``, ``sg_message_id``, ``category``,
``reason``, ``type``, ``bounce_classification``, ``url``, ``useragent``,
``sg_machine_open`` and the send's custom args at the top level.

Amazon SES (``Contents of event data that Amazon SES publishes``): one notification per
message and event - ``eventType`` (event publishing) or ``notificationType`` (identity
feedback notifications), ``mail{timestamp, messageId, destination[], tags}`` and one of
``bounce{bounceType Permanent|Transient|Undetermined, bouncedRecipients[], feedbackId,
timestamp}``, ``complaint{complainedRecipients[], feedbackId, timestamp}``,
``delivery{recipients[], timestamp}``, ``open{timestamp, userAgent}``,
``click{timestamp, link, userAgent}``, ``deliveryDelay{delayedRecipients[]}``, ``send{}``,
``reject{}``; one notification may name several recipients (one row each). An SNS envelope
(``Type: Notification``, ``Message`` as a JSON string) is unwrapped.

Duplicates are documented provider behaviour: the key is the provider's event id
(``sg_event_id``; SES ``feedbackId`` + recipient for bounces and complaints) and else the
sha256 of the event's canonical JSON (plus the recipient). Times become UTC.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

from outreach.tombstones import normalise_email

SENDGRID = "sendgrid"
SES = "ses"


class EventFormatError(ValueError):
    """An event that cannot be read; the message names the item and the field."""


class EmailEvent(NamedTuple):  # a tuple: built ~4x faster than a frozen dataclass
    event_key: str
    provider: str
    event_type: str  # the provider's own name (delivered, bounce, Bounce, Open, ...)
    email: str | None
    occurred_at: datetime | None
    message_id: str | None
    payload: dict[str, Any]


def _no_constant(name: str) -> Any:
    raise EventFormatError(f"{name} is not a number a jsonb column can hold")


def parse_json(text: bytes | str) -> Any:
    """``json.loads``, refusing NaN and Infinity (PostgreSQL's jsonb cannot store them: a
    clear error here, not a failed insert)."""
    return json.loads(text, parse_constant=_no_constant)


def dumps(value: Any) -> str:
    """Python -> JSON text for a ``jsonb`` column: orjson, ~10x the standard library's speed
    on an event, the same value (``json`` for what orjson refuses: integers beyond 64 bits,
    lone surrogates). Parsing stays with ``json``: orjson is barely faster on these bodies
    and reads an integer beyond 64 bits as a float."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: integers beyond 64 bits, lone surrogates
        return json.dumps(value)


def canonical_hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_MIN_S, _MAX_S = 0, 253_402_300_799  # 1970 .. 9999-12-31T23:59:59Z


def utc_time(value: Any, where: str) -> datetime | None:
    """Unix seconds (int, float or digits) or ISO 8601 -> an aware UTC datetime."""
    if type(value) is int and _MIN_S <= value <= _MAX_S:
        return datetime.fromtimestamp(value, UTC)  # SendGrid's case, checked first
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise EventFormatError(
            f"{where}: expected Unix seconds or ISO 8601, got {value!r}"
        ) from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


# ---------------------------------------------------------------------------- SendGrid
def sendgrid_events(batch: Any, where: str = "body") -> list[EmailEvent]:
    """The events of one SendGrid Event Webhook body (a JSON array of objects)."""
    if not isinstance(batch, list):
        raise EventFormatError(f"{where}: expected a JSON array of events")
    out = []
    append = out.append  # a few thousand events per body: the loop is kept lean
    for i, item in enumerate(batch):
        if not isinstance(item, dict):
            raise EventFormatError(f"{where}[{i}]: expected an event object")
        kind = item.get("event")
        if not isinstance(kind, str) or not kind:
            raise EventFormatError(f"{where}[{i}].event: expected the event name")
        event_id = item.get("sg_event_id")
        key = f"{SENDGRID}:{event_id}" if event_id else f"{SENDGRID}:sha256:{canonical_hash(item)}"
        email = item.get("email")
        ts = item.get("timestamp")
        append(
            EmailEvent(
                key,
                SENDGRID,
                kind,
                email.strip().lower() or None if type(email) is str else normalise_email(email),
                datetime.fromtimestamp(ts, UTC)
                if type(ts) is int and _MIN_S <= ts <= _MAX_S
                else utc_time(ts, f"{where}[{i}].timestamp"),
                item.get("sg_message_id"),
                item,
            )
        )
    return out


# ---------------------------------------------------------------------------- SES
_SES_RECIPIENTS = {
    "Bounce": ("bounce", "bouncedRecipients"),
    "Complaint": ("complaint", "complainedRecipients"),
    "Delivery": ("delivery", "recipients"),
    "DeliveryDelay": ("deliveryDelay", "delayedRecipients"),
}
_SES_DETAIL = {
    "Send": "send",
    "Reject": "reject",
    "Open": "open",
    "Click": "click",
    "Rendering Failure": "failure",
    "Subscription": "subscription",
}


def _unwrap_sns(item: Any, at: str) -> Any:
    if isinstance(item, dict) and item.get("Type") == "Notification" and "Message" in item:
        try:
            return parse_json(item["Message"])
        except (TypeError, json.JSONDecodeError) as exc:
            raise EventFormatError(f"{at}.Message: expected the SES notification as JSON") from exc
    return item


def ses_events(notification: Any, where: str = "notification") -> list[EmailEvent]:
    """The per-recipient events of one SES notification (SNS envelope or bare)."""
    note = _unwrap_sns(notification, where)
    if not isinstance(note, dict):
        raise EventFormatError(f"{where}: expected an SES notification object")
    kind = note.get("eventType") or note.get("notificationType")
    if not isinstance(kind, str):
        raise EventFormatError(f"{where}: expected eventType or notificationType")
    mail = note.get("mail")
    if not isinstance(mail, dict):
        raise EventFormatError(f"{where}.mail: expected the mail object")
    detail_name, recipients_field = _SES_RECIPIENTS.get(kind, (_SES_DETAIL.get(kind), None))
    detail = note.get(detail_name) if detail_name else None
    detail = detail if isinstance(detail, dict) else {}
    if recipients_field:
        recipients = detail.get(recipients_field) or []
        emails = [r.get("emailAddress") if isinstance(r, dict) else r for r in recipients]
    else:
        emails = list(mail.get("destination") or [])
    if not emails:
        raise EventFormatError(f"{where}: a {kind} notification without recipients")
    when = utc_time(detail.get("timestamp") or mail.get("timestamp"), f"{where}.timestamp")
    feedback_id = detail.get("feedbackId")
    digest = None if feedback_id else canonical_hash(note)
    out = []
    for email in emails:
        address = normalise_email(email)
        ident = f"{feedback_id}:{address}" if feedback_id else f"sha256:{digest}:{address}"
        out.append(
            EmailEvent(
                event_key=f"{SES}:{ident}",
                provider=SES,
                event_type=kind,
                email=address,
                occurred_at=when,
                message_id=mail.get("messageId"),
                payload=note,
            )
        )
    return out


# ---------------------------------------------------------------------------- files
def read_file_events(path: str, fmt: str) -> Iterator[tuple[str, list[EmailEvent] | str]]:
    """(where, events or the error text) per item of a backfill file: a JSON array, or one
    JSON value per line (JSON Lines). A SendGrid item is an event or a batch (array); an SES
    item a notification. A bad item is reported, the others kept."""
    from pathlib import Path

    text = Path(path).read_text(encoding="utf-8-sig")
    stripped = text.lstrip()
    if stripped.startswith("[") and fmt == SES:
        items: Iterable[tuple[str, Any]] = (
            (f"{path}[{i}]", v) for i, v in enumerate(parse_json(text))
        )
    elif stripped.startswith("["):
        items = [(path, parse_json(text))]
    else:
        items = _json_lines(path, text)
    for where, item in items:
        if isinstance(item, EventFormatError):
            yield where, str(item)
            continue
        try:
            if fmt == SENDGRID:
                yield where, sendgrid_events(item if isinstance(item, list) else [item], where)
            else:
                yield where, ses_events(item, where)
        except EventFormatError as exc:
            yield where, str(exc)


def _json_lines(path: str, text: str) -> Iterator[tuple[str, Any]]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {n}"
        try:
            yield where, parse_json(line)
        except json.JSONDecodeError as exc:
            yield where, EventFormatError(f"{where}: expected one JSON value ({exc.msg})")
        except EventFormatError as exc:
            yield where, EventFormatError(f"{where}: {exc}")
