"""Tell Dagster what the CLI did: loads and dbt commands run outside Dagster become
materializations and asset check results in the Dagster instance ``outreach ui`` uses.

The application reports after it called the entry point (the same one Dagster's assets
call): ``app.cli`` after a load, ``app.dbt.run_dbt`` after a dbt command, the demo after
each of its loads. Which asset keys a load or a dbt node has is the code location's
knowledge, so the work is done by ``orchestration.reporting`` (imported on call, so that
``outreach --help`` does not import Dagster).

Reporting never fails the command it reports: if Dagster's instance cannot be opened or
written, one warning goes to stderr and the command's own result stands.
``OUTREACH_DAGSTER_REPORT=0`` turns reporting off (the test suite does, except the tests
of reporting itself).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from outreach.settings import load_settings

REPORT_ENV = "OUTREACH_DAGSTER_REPORT"
_warned: list[str] = []


def dagster_home() -> Path:
    """``$DAGSTER_HOME``, else ``<state dir>/dagster`` (created with telemetry off)."""
    home = Path(os.environ.get("DAGSTER_HOME") or load_settings().state_dir / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text("telemetry:\n  enabled: false\n")
    return home


def enabled() -> bool:
    return (os.environ.get(REPORT_ENV) or "1").strip().lower() not in {"0", "false", "no", "off"}


def _safely(what: str, report: Callable[[], int]) -> int:
    """Run a report; on any error warn once (per process) and return 0 events."""
    if not enabled():
        return 0
    try:
        return report()
    except Exception as exc:  # reporting must never break the command it reports
        if not _warned:
            _warned.append(what)
            print(
                f"warning: could not report the {what} to Dagster ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}); the command itself is "
                f"unaffected (Dagster home: {os.environ.get('DAGSTER_HOME') or 'default'})",
                file=sys.stderr,
                flush=True,
            )
        return 0


def report_dbt_run(url: str, args: Sequence[str], started: float) -> int:
    """After a dbt command: report the nodes it built and the tests it ran (its
    ``run_results.json``, if written at or after ``started``, a ``time.time()``).
    Returns the number of events recorded."""

    def report() -> int:
        from orchestration.reporting import report_dbt_results

        return report_dbt_results(dagster_home(), url, list(args), started)

    return _safely(f"dbt {args[0] if args else ''}".strip(), report)


def report_load(loader: str, url: str | None, summary: Any = None) -> int:
    """After a CLI load: a materialization of each asset of ``loader`` (the value of its
    multi-asset's ``outreach/loader`` op tag), with row count, duration and the metadata
    the Dagster asset gives the same load (from ``summary``, the loader's summary)."""

    def report() -> int:
        from orchestration.reporting import report_load_results
        from outreach.warehouse import database_url

        return report_load_results(dagster_home(), url or database_url(), loader, summary)

    return _safely(f"{loader} load", report)
