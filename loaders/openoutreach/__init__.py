"""The OpenOutreach source: its DjangoCRM SQLite database (``crm.db``) -> raw_openoutreach.

dlt's ``sql_database`` source reads ``crm_lead``, ``crm_deal``, ``crm_stage`` and
``crm_closingreason`` through SQLAlchemy with the pyarrow backend, from a read-only SQLite
connection (``mode=ro``: the daemon's file is never written). ``crm_lead`` and ``crm_deal``
are incremental on ``update_date`` (every row updated at or after the last value seen is
read again); the two lookups are read whole. Every row gets the ``account`` it came from and
merges on ``(account, id)``, so several OpenOutreach accounts land side by side and a re-run
converges. What the rows mean (stages, transitions, features) is dbt's.
"""

from __future__ import annotations

from typing import Any

import dlt
import pyarrow as pa

from loaders.openoutreach import settings as s

__all__ = ["openoutreach_source", "readonly_sqlite_url"]


def readonly_sqlite_url(path: str) -> str:
    """A SQLAlchemy URL that opens ``path`` read-only (SQLite URI ``mode=ro``)."""
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def _with_account(account: str):
    def add(table: pa.Table) -> pa.Table:
        return table.append_column("account", pa.array([account] * table.num_rows, pa.string()))

    return add


def _keep_read_columns(table: Any) -> Any:
    """Drop the DjangoCRM columns we do not read (owner, tags, amounts, ...): a real crm.db
    has many more than ``settings.TABLES`` names."""
    wanted = set(s.TABLES[table.name][0])
    for column in [c for c in table.columns if c.name not in wanted]:
        table._columns.remove(column)
    return table


def openoutreach_source(crm_path: str, account: str) -> Any:
    """The four CRM tables of ``crm_path`` as dlt resources tagged with ``account``."""
    from dlt.sources.sql_database import sql_database

    source = sql_database.with_args(name=s.SOURCE_NAME)(
        credentials=readonly_sqlite_url(crm_path),
        table_names=list(s.TABLES),
        backend="pyarrow",
        chunk_size=s.CHUNK_SIZE,
        reflection_level="full",
        table_adapter_callback=_keep_read_columns,
    )
    for table, (columns, cursor) in s.TABLES.items():
        resource = source.resources[table]
        resource.apply_hints(
            primary_key=["account", "id"],
            write_disposition="merge",
            incremental=dlt.sources.incremental(cursor, primary_key=()) if cursor else None,
            columns={
                c: {"data_type": "text"}
                for c in ("description", "stages_dates", "next_step")
                if c in columns
            },
        )
        resource.add_map(_with_account(account))
    return source
