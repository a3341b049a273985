"""Webhook signatures of the providers ``outreach serve`` receives from.

SendGrid signed Event Webhook (the official helper, sendgrid-python
``sendgrid.helpers.eventwebhook.EventWebhook``: ``convert_public_key_to_ecdsa`` wraps the
account's "Verification Key" - base64 DER SubjectPublicKeyInfo - in PEM, and
``verify_signature`` checks the base64 DER ECDSA signature from
``X-Twilio-Email-Event-Webhook-Signature`` over ``timestamp + payload``, the timestamp being
the ``X-Twilio-Email-Event-Webhook-Timestamp`` header as sent). P-256, SHA-256. The helper
has no freshness check; we also refuse a timestamp further than the tolerance from our clock,
so a captured request cannot be replayed later.

Calendly v2 (``Calendly-Webhook-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>" with the webhook signing key>``), with the same tolerance.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
CALENDLY_SIGNATURE = "Calendly-Webhook-Signature"
DEFAULT_TOLERANCE_S = 300.0  # as the outbound signatures (exports/signing.py)

Clock = Callable[[], float]


class SignatureError(ValueError):
    """The request does not verify; ``str()`` says why (never a key)."""


def load_sendgrid_key(verification_key: str) -> ec.EllipticCurvePublicKey:
    """The account's Verification Key (base64 DER, or PEM) as a P-256 public key."""
    text = verification_key.strip()
    if "BEGIN PUBLIC KEY" not in text:
        text = f"-----BEGIN PUBLIC KEY-----\n{text}\n-----END PUBLIC KEY-----\n"
    try:
        key = serialization.load_pem_public_key(text.encode())
    except ValueError as exc:
        raise ValueError("SENDGRID_WEBHOOK_PUBLIC_KEY is not a valid public key") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("SENDGRID_WEBHOOK_PUBLIC_KEY is not an elliptic-curve key")
    return key


def _fresh(timestamp: int, now: float, tolerance_s: float) -> None:
    if abs(now - timestamp) > tolerance_s:
        raise SignatureError(
            f"timestamp {timestamp} is {now - timestamp:+.0f} s from now, outside the "
            f"tolerance of {tolerance_s:g} s"
        )


def verify_sendgrid(
    key: ec.EllipticCurvePublicKey,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    now: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> int:
    if not signature or not timestamp:
        raise SignatureError(f"no {SENDGRID_SIGNATURE} / {SENDGRID_TIMESTAMP} header")
    if not timestamp.strip().isdigit():
        raise SignatureError(f"{SENDGRID_TIMESTAMP} is not Unix seconds")
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, InvalidSignature) as exc:
        raise SignatureError("signature does not match the timestamp and body") from exc
    ts = int(timestamp)
    _fresh(ts, now, tolerance_s)
    return ts


def sign_sendgrid(private_key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: int) -> str:
    """What SendGrid sends (for the test-mode simulator): base64 DER ECDSA signature."""
    der = private_key.sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(der).decode()


def public_key_b64(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The Verification Key SendGrid shows for a key pair: base64 DER SubjectPublicKeyInfo."""
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def verify_calendly(
    signing_key: str,
    body: bytes,
    header: str | None,
    *,
    now: float,
    tolerance_s: float = 180.0,
) -> int:
    if not header:
        raise SignatureError(f"no {CALENDLY_SIGNATURE} header")
    parts = dict(p.strip().partition("=")[::2] for p in header.split(","))
    t, v1 = parts.get("t", ""), parts.get("v1", "")
    if not t.isdigit() or not v1:
        raise SignatureError(f"{CALENDLY_SIGNATURE} needs t=<unix seconds>,v1=<hex>")
    expected = hmac.new(signing_key.encode(), f"{t}.".encode() + body, hashlib.sha256)
    if not hmac.compare_digest(expected.hexdigest(), v1):
        raise SignatureError("signature does not match the timestamp and body")
    _fresh(int(t), now, tolerance_s)
    return int(t)


def sign_calendly(signing_key: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(signing_key.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def now() -> float:
    return time.time()
