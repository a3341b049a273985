"""The LinkedIn Ads dlt source: daily campaign analytics, campaigns, accounts.

| table (raw_linkedin_ads) | primary key | write disposition |
| --- | --- | --- |
| ``campaign_analytics`` | (campaign_id, date) | merge: a re-pulled day replaces the old numbers |
| ``campaigns`` | campaign_id | merge |
| ``accounts`` | account_id | merge |
| ``pulls`` | pull_id | append (``pulls_resource``): one row per account and load |

Each account's analytics is its own resource (``campaign_analytics_<account>``, table
``campaign_analytics``) with a ``dlt.sources.incremental`` cursor on ``date``: the next
run starts ``lookback_days - 1`` days before the newest day loaded (``lag``: LinkedIn
restates recent days, as facebook_ads' attribution window), an account never loaded gets
``initial_days``; ``start_date`` backfills without moving the cursor. Rows that vanished
from a re-pulled window are a dbt decision (``int_ads_campaign_days_joined``).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dlt
import pyarrow as pa

from loaders.linkedin_ads import settings as s
from loaders.linkedin_ads.helpers import (
    LinkedInAdsClient,
    account_row,
    analytics_table,
    campaign_row,
)

# Pipeline settings are the "linkedin_ads" sections of .dlt/config.toml: _dlt_load_id on
# arrow rows, plain load files, no copies kept.
_TEXT, _BIGINT = {"data_type": "text"}, {"data_type": "bigint"}
_LOADED_AT = {"data_type": "timestamp", "timezone": True}
COLUMNS: dict[str, dict[str, dict[str, Any]]] = {
    s.ANALYTICS_TABLE: {
        "account_id": _TEXT,
        "campaign_id": _TEXT,
        "date": {"data_type": "date"},
        "impressions": _BIGINT,
        "clicks": _BIGINT,
        "cost_in_local_currency": {
            "data_type": "decimal",
            "precision": s.COST_PRECISION,
            "scale": s.COST_SCALE,
        },
        "external_website_conversions": _BIGINT,
        "_pull_id": _TEXT,
        "_loaded_at": _LOADED_AT,
    },
    s.CAMPAIGNS_TABLE: {
        **dict.fromkeys(
            [
                "campaign_id",
                "account_id",
                "name",
                "status",
                "type",
                "cost_type",
                "objective_type",
                "campaign_group_id",
                "daily_budget_amount",
                "daily_budget_currency",
                "run_schedule_start",
                "run_schedule_end",
                "created_at",
                "last_modified_at",
            ],
            _TEXT,
        ),
        "_loaded_at": _LOADED_AT,
    },
    s.ACCOUNTS_TABLE: {
        **dict.fromkeys(("account_id", "name", "currency", "status", "type"), _TEXT),
        "_loaded_at": _LOADED_AT,
    },
    s.PULLS_TABLE: {
        **dict.fromkeys(
            ("pull_id", "account_id", "connection", "method", "source", "file_name", "trigger"),
            _TEXT,
        ),
        "date_start": {"data_type": "date"},
        "date_end": {"data_type": "date"},
        **dict.fromkeys(
            ("rows", "new_rows", "restated_rows", "unchanged_rows", "zeroed_rows"), _BIGINT
        ),
        "seconds": {"data_type": "double"},
        "_loaded_at": _LOADED_AT,
    },
}
KEYS = {
    s.ANALYTICS_TABLE: ["campaign_id", "date"],
    s.CAMPAIGNS_TABLE: ["campaign_id"],
    s.ACCOUNTS_TABLE: ["account_id"],
    s.PULLS_TABLE: ["pull_id"],
}
MERGE = {"disposition": "merge", "strategy": "delete-insert"}
_TZ = pa.timestamp("us", tz="UTC")


def hints(table: str) -> dict[str, Any]:
    """primary_key, write_disposition and columns of a raw table."""
    return {
        "table_name": table,
        "primary_key": KEYS[table],
        "write_disposition": "append" if table == s.PULLS_TABLE else MERGE,
        "columns": [{"name": n, **h} for n, h in COLUMNS[table].items()],
    }


def with_load_columns(table: pa.Table, pull_id: str | None, loaded_at: datetime) -> pa.Table:
    """The analytics table with ``_pull_id`` and ``_loaded_at`` appended."""
    n = table.num_rows
    return table.append_column(
        pa.field("_pull_id", pa.string()), pa.array([pull_id] * n, pa.string())
    ).append_column(pa.field("_loaded_at", _TZ), pa.array([loaded_at] * n, _TZ))


def _batches(table: pa.Table) -> Iterator[pa.Table]:
    yield from (pa.Table.from_batches([b]) for b in table.to_batches(s.ARROW_BATCH_ROWS))


@dlt.source(name=s.SOURCE_NAME)
def linkedin_ads_source(
    accounts: dict[str, LinkedInAdsClient] | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    lookback_days: int = s.DEFAULT_LOOKBACK_DAYS,
    initial_days: int = s.DEFAULT_INITIAL_DAYS,
    pulls: dict[str, dict[str, Any]] | None = None,
    loaded_at: datetime | None = None,
    cursors: Collection[str] = (),
) -> Any:
    """LinkedIn Ads resources for ``accounts`` (account id -> the client that reads it).

    ``pulls`` (account -> dict), when given, receives per account the pull id, the window
    asked for, the rows and campaigns fetched and rounded costs, for the ``pulls`` table.
    ``cursors``: accounts whose cursor has state already; a backfill (``start_date``) of one
    reads its own window and leaves the cursor alone, a first backfill starts the cursor.
    With no accounts every resource yields nothing (the empty tables; Dagster definitions).
    """
    end = end_date or datetime.now(UTC).date()
    stamp = loaded_at or datetime.now(UTC)
    pulls = {} if pulls is None else pulls
    accounts = accounts or {}
    found: dict[str, list[dict[str, Any]]] = {}

    def campaigns_of(account: str) -> list[dict[str, Any]]:
        if account not in found:
            rows = accounts[account].campaigns(account)
            found[account] = [campaign_row(account, c) for c in rows]
        return found[account]

    @dlt.resource(**hints(s.ACCOUNTS_TABLE))
    def accounts_resource() -> Iterator[dict[str, Any]]:
        for account, client in accounts.items():
            yield {**account_row(account, client.account(account)), "_loaded_at": stamp}

    @dlt.resource(**hints(s.CAMPAIGNS_TABLE))
    def campaigns_resource() -> Iterator[list[dict[str, Any]]]:
        for account in accounts:
            yield [{**c, "_loaded_at": stamp} for c in campaigns_of(account)]

    def analytics(account: str) -> Any:
        if start_date and account in cursors:  # its own window, the cursor stays
            cursor = dlt.sources.incremental(
                "date", initial_value=start_date, end_value=end + timedelta(days=1)
            )
        else:  # the lookback window; a first backfill sets where the next run starts
            cursor = dlt.sources.incremental(
                "date",
                initial_value=start_date or end - timedelta(days=initial_days - 1),
                lag=lookback_days - 1,
                primary_key=(),
            )

        def rows(day: dlt.sources.incremental[date] = cursor) -> Iterator[pa.Table]:
            window = min(day.start_value, end), end
            pull = pulls.setdefault(account, {"pull_id": os.urandom(16).hex(), "rows": 0})
            pull.update(date_start=window[0], date_end=window[1], rounded=0)
            ids = pull["campaign_ids"] = [c["campaign_id"] for c in campaigns_of(account)]
            read = accounts[account].daily_campaign_analytics
            for table, rounded in read(account, *window, campaigns=len(ids)):
                pull["rows"] += table.num_rows
                pull["rounded"] += rounded
                pull.setdefault("tables", []).append(table)  # counted before the load
                yield from _batches(with_load_columns(table, pull["pull_id"], stamp))

        return dlt.resource(rows, name=f"{s.ANALYTICS_TABLE}_{account}", **hints(s.ANALYTICS_TABLE))

    if not accounts:  # the empty tables
        empty = {t: arrow_rows(t, []) for t in (s.ACCOUNTS_TABLE, s.CAMPAIGNS_TABLE)}
        empty[s.ANALYTICS_TABLE] = with_load_columns(analytics_table(None, [])[0], None, stamp)
        return [dlt.resource([data], name=t, **hints(t)) for t, data in empty.items()]
    return [accounts_resource, campaigns_resource, *(analytics(a) for a in accounts)]


def arrow_rows(table: str, rows: list[dict[str, Any]]) -> pa.Table:
    """Rows of a dict-built raw table as arrow (an empty one still has every column)."""
    schema = pa.schema(
        [
            pa.field(n, _ARROW[h["data_type"]], nullable=n not in KEYS[table])
            for n, h in COLUMNS[table].items()
        ]
    )
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in rows], schema)


def pulls_resource(rows: list[dict[str, Any]]) -> Any:
    """The ``pulls`` rows of a load (an empty list creates the table)."""
    data = arrow_rows(s.PULLS_TABLE, rows)
    return dlt.resource([data], name=s.PULLS_TABLE, **hints(s.PULLS_TABLE))


_ARROW = {
    "text": pa.string(),
    "date": pa.date32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "timestamp": _TZ,
}
