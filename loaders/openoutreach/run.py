"""Front door of the OpenOutreach loader: ``load_crm`` (``outreach load openoutreach``).

Checks the file (exists, is SQLite, has the tables and columns OpenOutreach's CRM has),
then lands its rows with one dlt pipeline per account (``openoutreach_<account>``: each
account keeps its own incremental cursor) into ``raw_openoutreach``. A re-run lands only
rows updated since the last one; merging on ``(account, id)`` makes it converge.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from loaders.openoutreach import openoutreach_source
from loaders.openoutreach import settings as s
from outreach.dlt_pipelines import load_lock, warehouse_pipeline
from outreach.raw import ensure_ddl_tables

__all__ = ["CrmFileError", "LoadSummary", "ensure_raw_tables", "load_crm"]

Progress = Callable[[str], Any]


class CrmFileError(ValueError):
    """The file is not an OpenOutreach CRM database we can read."""


@dataclass
class LoadSummary:
    account: str
    crm_path: str
    rows: dict[str, int] = field(default_factory=dict)  # rows read this run, per table
    totals: dict[str, int] = field(default_factory=dict)  # rows of this account in raw
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def render(self) -> str:
        parts = ", ".join(
            f"{t} {self.rows.get(t, 0)} read / {self.totals.get(t, 0)} held" for t in s.TABLES
        )
        return f"openoutreach [{self.account}] from {self.crm_path}: {parts} ({self.seconds:.1f} s)"


def check_crm_file(path: Path) -> None:
    """Raise CrmFileError naming the file and what is missing, if it is not a crm.db."""
    if not path.is_file():
        raise CrmFileError(f"{path}: no such file (expected OpenOutreach's crm.db)")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            for table, (columns, _cursor) in s.TABLES.items():
                have = {r[1] for r in conn.execute(f'pragma table_info("{table}")')}
                if not have:
                    raise CrmFileError(
                        f"{path}: table {table} is missing (not a DjangoCRM crm.db?)"
                    )
                missing = [c for c in columns if c not in have]
                if missing:
                    raise CrmFileError(
                        f"{path}: table {table} lacks column(s) {', '.join(missing)}"
                    )
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise CrmFileError(f"{path}: not a SQLite database ({exc})") from None


RAW_DDL = f"""
create schema if not exists {s.DATASET_NAME};
create table if not exists {s.DATASET_NAME}.crm_stage (
    id bigint not null, name text, index_number bigint, "default" boolean,
    success_stage boolean, account text not null);
create table if not exists {s.DATASET_NAME}.crm_closingreason (
    id bigint not null, name text, index_number bigint, success_reason boolean,
    account text not null);
create table if not exists {s.DATASET_NAME}.crm_lead (
    id bigint not null, website text, first_name text, last_name text, title text,
    city_name text, company_name text, email text, description text,
    creation_date timestamp, update_date timestamp, account text not null);
create table if not exists {s.DATASET_NAME}.crm_deal (
    id bigint not null, lead_id bigint, name text, ticket text, stage_id bigint,
    active boolean, closing_reason_id bigint, next_step text, next_step_date date,
    creation_date timestamp, update_date timestamp, win_closing_date timestamp,
    stages_dates text, account text not null);
"""


def ensure_raw_tables(database_url: str) -> bool:
    """Create the four raw tables empty (dbt's sources) if they are missing."""
    return ensure_ddl_tables(database_url, s.DATASET_NAME, set(s.TABLES), RAW_DDL)


def load_crm(
    crm_path: str | Path,
    account: str = s.DEFAULT_ACCOUNT,
    *,
    database_url: str,
    progress: Progress = lambda _m: None,
) -> LoadSummary:
    """Land one OpenOutreach account's crm.db into raw_openoutreach (incremental, merged)."""
    if not re.match(s.ACCOUNT_PATTERN, account):
        raise CrmFileError(
            f"account {account!r}: expected lowercase letters, digits and _ (at most 40)"
        )
    path = Path(crm_path).resolve()
    check_crm_file(path)
    started = time.monotonic()
    summary = LoadSummary(account=account, crm_path=str(path))
    name = f"{s.PIPELINE_PREFIX}_{account}"
    with load_lock(database_url, name, progress=progress):
        pipeline = warehouse_pipeline(
            database_url, name, s.DATASET_NAME, json_text_resources=tuple(s.TABLES)
        )
        progress(f"reading {path} (account {account}) read-only…")
        info = pipeline.run(openoutreach_source(str(path), account))
        del info
        counts = pipeline.last_trace.last_normalize_info.row_counts
        summary.rows = {t: int(counts.get(t, 0)) for t in s.TABLES}
    with psycopg.connect(database_url) as conn:
        for table in s.TABLES:
            (n,) = conn.execute(
                f"select count(*) from {s.DATASET_NAME}.{table} where account = %s", (account,)
            ).fetchone()
            summary.totals[table] = int(n)
    summary.seconds = time.monotonic() - started
    progress(summary.render())
    return summary
