"""Signatures of outbound webhooks: the timestamp, the idempotency key and the body.

We follow Stripe's documented scheme for webhook signatures ("verify manually": header
``t=<unix seconds>,v1=<hex HMAC-SHA256>``, the timestamp signed with the body, a tolerance
of 5 minutes, constant-time comparison, several ``v1`` values accepted so a secret can be
rotated), with one addition taken from Standard Webhooks (which signs
``{webhook-id}.{timestamp}.{body}``): the ``Idempotency-Key`` is signed too, so a captured
request cannot be replayed under another key::

    X-Outreach-Signature: t=1767225600,v1=<hex HMAC-SHA256(secret, f"{t}.{key}.{body}")>

A receiver recomputes the HMAC over the timestamp from the header, the ``Idempotency-Key``
header and the raw body, compares it in constant time with every ``v1``, and rejects a
timestamp more than the tolerance away from its clock (``verify`` does all of it).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

SIGNATURE_HEADER = "X-Outreach-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SCHEME = "v1"
DEFAULT_TOLERANCE_S = 300.0

Clock = Callable[[], float]  # seconds since the epoch (time.time, or a test's clock)


class SignatureError(ValueError):
    """The request does not verify; ``str()`` says why (never the secret)."""


def signed_content(timestamp: int, key: str, body: bytes) -> bytes:
    return f"{timestamp}.{key}.".encode() + body


def digest(timestamp: int, key: str, body: bytes, secret: str) -> str:
    """Hex HMAC-SHA256 of ``f"{timestamp}.{key}.{body}"`` with ``secret``."""
    content = signed_content(timestamp, key, body)
    return hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def sign(body: bytes, key: str, secret: str, *, timestamp: float) -> str:
    """The ``X-Outreach-Signature`` value for one request sent at ``timestamp``."""
    t = int(timestamp)
    return f"t={t},{SCHEME}={digest(t, key, body, secret)}"


def parse(header: str | None) -> tuple[int, list[str]]:
    """(timestamp, v1 signatures) of a header; SignatureError if it has neither."""
    if not header:
        raise SignatureError(f"no {SIGNATURE_HEADER} header")
    timestamp, signatures = None, []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == SCHEME and value:
            signatures.append(value)
    if timestamp is None:
        raise SignatureError(f"{SIGNATURE_HEADER} has no t=<unix seconds>")
    if not signatures:
        raise SignatureError(f"{SIGNATURE_HEADER} has no {SCHEME}= signature")
    return timestamp, signatures


def verify(
    body: bytes,
    key: str | None,
    header: str | None,
    secret: str,
    *,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> int:
    """The signed timestamp, if ``header`` signs (timestamp, ``key``, ``body``) with
    ``secret`` and the timestamp is within ``tolerance_s`` of ``now``; else SignatureError."""
    if not key:
        raise SignatureError(f"no {IDEMPOTENCY_HEADER} header")
    timestamp, signatures = parse(header)
    expected = digest(timestamp, key, body, secret)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("signature does not match the timestamp, key and body")
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(
            f"timestamp {timestamp} is {now - timestamp:+.0f} s from now, outside the "
            f"tolerance of {tolerance_s:g} s"
        )
    return timestamp
