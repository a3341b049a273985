"""Apify LinkedIn profiles -> ``raw_apify`` (profile items and refresh jobs).

Front doors (``loaders.apify_linkedin.run``):

- ``refresh_profiles(...)``: the monthly refresh of tracked people's LinkedIn profiles
  through an Apify actor, one refresh job per ``max_profiles`` profiles;
- ``import_dataset(path, observed_at=...)``: land an exported dataset file as its own job;
- ``circuit_breaker_state(url)`` / ``rate_limit_state(url)``: what the orchestrator checks.

The dlt source lives in ``loaders.apify_linkedin.source`` (``apify_linkedin_source``), the
official ``apify-client`` wiring and item parsing in ``helpers``, the job table in ``jobs``;
the local test-mode server is ``testing.apify``. This package module stays import-light
(no dlt, no apify_client).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "apify_linkedin_source",
    "circuit_breaker_state",
    "import_dataset",
    "rate_limit_state",
    "refresh_profiles",
]


def __getattr__(name: str) -> Any:
    if name in ("refresh_profiles", "import_dataset", "circuit_breaker_state", "rate_limit_state"):
        from loaders.apify_linkedin import run

        return getattr(run, name)
    if name == "apify_linkedin_source":
        from loaders.apify_linkedin.source import apify_linkedin_source

        return apify_linkedin_source
    raise AttributeError(name)
