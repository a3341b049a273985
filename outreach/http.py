"""HTTP plumbing the vendor loaders and exports share: backoff delays and secret masking."""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

REDACTED = "***"


def redact_secrets(text: Any, secrets: Iterable[str | None] = ()) -> str:
    """``text`` as a string with every (non-empty) secret replaced by ``***``."""
    out = str(text)
    for secret in secrets:
        if secret:
            out = out.replace(secret, REDACTED)
    return out


def backoff_delay(
    attempt: int,
    *,
    base_s: float,
    max_s: float,
    jitter: float,
    rng: random.Random | None = None,
    retry_after: float | str | None = None,
) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (attempts count from 1).

    Exponential (``base_s * 2**(attempt-1)``, capped at ``max_s``) with +-``jitter``
    relative jitter, so that many clients do not retry in step. A ``Retry-After`` the
    server sent (seconds) wins, capped at ``max_s``; an unparseable one is ignored.
    """
    if retry_after is not None and retry_after != "":
        try:
            return min(max_s, max(0.0, float(retry_after)))
        except (TypeError, ValueError):
            pass
    raw = min(max_s, base_s * (2 ** (attempt - 1)))
    return max(0.0, raw * (1 + (rng or random).uniform(-jitter, jitter)))
