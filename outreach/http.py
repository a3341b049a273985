"""HTTP plumbing the vendor loaders and exports share: secret masking.

Retries and backoff are not ours: the Apify loader uses the official ``apify-client``, the
LinkedIn Ads and MillionVerifier loaders dlt's retrying ``requests`` client."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MASK = "***"


def mask_secrets(text: Any, secrets: Iterable[str | None] = ()) -> str:
    """``text`` as a string with every (non-empty) secret replaced by ``***``."""
    out = str(text)
    for secret in secrets:
        if secret:
            out = out.replace(secret, MASK)
    return out
