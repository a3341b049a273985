"""dbt as the CLI and the demo run it: ``outreach.dbt.run_dbt`` with what the base cannot
know. Before a building command every raw table owner creates its empty tables
(``orchestration.raw_tables``); after it, what dbt built and tested goes to Dagster's
history (``app.dagster_report``, which never raises)."""

from __future__ import annotations

from outreach import dbt as _dbt


def ensure_raw_tables(url: str) -> list[str]:
    """Create the empty raw tables of every owner that lacks them; the owners that did."""
    from orchestration.raw_tables import raw_table_owners
    from outreach.raw import ensure_all_raw_tables

    return ensure_all_raw_tables(url, raw_table_owners())


def run_dbt(args: list[str], **kwargs):
    """``outreach.dbt.run_dbt`` (same arguments) with the raw tables ensured first and the
    run reported to Dagster afterwards."""
    from app.dagster_report import report_dbt_run

    return _dbt.run_dbt(args, before_build=ensure_raw_tables, after_build=report_dbt_run, **kwargs)
