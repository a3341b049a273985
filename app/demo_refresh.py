"""The LinkedIn refresh part of ``outreach demo``: a baseline refresh and one a month later.

Both go through the real loader over HTTP to the local Apify test-mode server, which serves
the warehouse's tracked people as they are today (month 0) and, one simulated month later,
with deterministic promotions, moves, departures and formatting-only title edits (month 1).
Change detection then builds and the summary lists the refresh jobs and what changed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from app.dagster_report import report_load
from loaders.apify_linkedin import settings as s

Progress = Callable[[str], Any]


@contextlib.contextmanager
def _pointed_at(base_url: str) -> Iterator[None]:
    """Point the loader at the local server for the duration (test mode, test token)."""
    saved = {k: os.environ.get(k) for k in ("OUTREACH_TEST_MODE", "APIFY_BASE_URL", "APIFY_TOKEN")}
    os.environ.update(
        OUTREACH_TEST_MODE="true", APIFY_BASE_URL=base_url, APIFY_TOKEN=s.TEST_MODE_TOKEN
    )
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_refresh_demo(
    url: str, progress: Progress = print, *, change_rate: float = 0.1, now: datetime | None = None
) -> bool:
    """Baseline refresh (now) and a refresh one simulated month later (now + 31 days)."""
    from loaders.apify_linkedin.run import refresh_profiles
    from testing.apify import ApifyTestServer, roster_from_warehouse

    baseline_at = (now or datetime.now(UTC)).replace(microsecond=0)
    later_at = baseline_at + timedelta(days=31)
    roster = roster_from_warehouse(url)
    server = ApifyTestServer(roster=roster, change_rate=change_rate)
    runs = ((0, baseline_at, "baseline"), (1, later_at, "+31 days"))
    with server, _pointed_at(server.base_url):
        for month, observed_at, label in runs:
            server.month = month
            t = time.monotonic()
            result = refresh_profiles(
                database_url=url,
                observed_at=observed_at,
                progress=lambda line: None,
            )
            progress(
                f"{label} refresh ({observed_at:%Y-%m-%d}): {result.render().splitlines()[0]}"
                f" ({time.monotonic() - t:.1f}s)"
            )
            report_load("apify_linkedin", url, result)  # the demo's history in Dagster too
            if not result.ok:
                progress(result.render())
                return False
    return True


def refresh_summary_lines(url: str) -> list[str]:
    """The refresh jobs and the detected changes, for the demo summary."""
    import psycopg

    lines = []
    with psycopg.connect(url) as conn:
        jobs = conn.execute(
            """
            select job_unique_id, status, total_profiles, profiles_changed, profiles_skipped
            from marketing.linkedin_refresh_jobs
            order by created_at, job_unique_id
            """
        ).fetchall()
        changes = conn.execute(
            """
            select change_type, count(*) from marketing.people_intelligence
            group by 1 order by 2 desc, 1
            """
        ).fetchall()
    lines.append(f"{'job':<30} {'status':<10} {'profiles':>8} {'changed':>8} {'skipped':>8}")
    for job_id, status, total, changed, skipped in jobs:
        lines.append(
            f"{job_id:<30} {status:<10} {total or 0:>8,} {changed or 0:>8,} {skipped or 0:>8,}"
        )
    lines.append(
        "changes detected: "
        + (", ".join(f"{kind} {n:,}" for kind, n in changes) if changes else "none")
    )
    return lines
