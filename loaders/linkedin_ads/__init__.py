"""The LinkedIn Ads source: daily campaign analytics, campaigns, accounts -> raw_linkedin_ads.

Resources (tables in ``raw_linkedin_ads``):

| resource | primary key | write disposition |
| --- | --- | --- |
| ``campaign_analytics`` | (campaign_id, date) | merge (delete-insert): a re-pulled day replaces the old numbers |
| ``campaigns`` | campaign_id | merge |
| ``accounts`` | account_id | merge |
| ``pulls`` | pull_id | append: one row per account and load (window, row counts) |

``loaders.linkedin_ads.run.load_linkedin_ads`` is the front door (``outreach load
linkedin-ads``, the Dagster asset): it fetches, compares with what is already loaded
(new / restated / vanished rows) and hands the finished ``AdsBatch`` to this source.
The source also runs in any dlt pipeline with a client instead of a batch: it then
fetches itself (``accounts``, ``start``, ``end``), without the vanished-row handling that
needs the destination.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# dlt's anonymous usage telemetry stays off unless a user turns it on explicitly
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # noqa: E402
import pyarrow as pa  # noqa: E402

from loaders.linkedin_ads import settings as s  # noqa: E402
from loaders.linkedin_ads.helpers import (  # noqa: E402
    ANALYTICS_SCHEMA,
    AnalyticsRows,
    LinkedInAdsClient,
    account_row,
    campaign_row,
)

__all__ = ["AdsBatch", "as_table", "column_hints", "linkedin_ads_source", "with_load_columns"]

# Pipeline settings, scoped to pipelines named "linkedin_ads": arrow tables get
# _dlt_load_id (the load that last wrote a row), uncompressed load files, no copies of
# loaded rows left in local packages, staging tables truncated after the merge.
for _key, _value in {
    "normalize.parquet_normalizer.add_dlt_load_id": True,
    "normalize.parquet_normalizer.add_dlt_id": True,
    "normalize.data_writer.disable_compression": True,
    "load.delete_completed_jobs": True,
    "load.truncate_staging_dataset": True,
}.items():
    dlt.config[f"{s.PIPELINE_NAME}.{_key}"] = _value

MERGE = {"disposition": "merge", "strategy": "delete-insert"}
_PRIMARY_KEYS = {
    s.ANALYTICS_TABLE: ("campaign_id", "date"),
    s.CAMPAIGNS_TABLE: ("campaign_id",),
    s.ACCOUNTS_TABLE: ("account_id",),
    s.PULLS_TABLE: ("pull_id",),
}

LOADED_AT = {"data_type": "timestamp", "timezone": True}
_TEXT = {"data_type": "text"}
_HINTS: dict[str, dict[str, dict[str, Any]]] = {
    s.ANALYTICS_TABLE: {
        "account_id": _TEXT,
        "campaign_id": _TEXT,
        "date": {"data_type": "date"},
        "impressions": {"data_type": "bigint"},
        "clicks": {"data_type": "bigint"},
        "cost_in_local_currency": {
            "data_type": "decimal",
            "precision": s.COST_PRECISION,
            "scale": s.COST_SCALE,
        },
        "external_website_conversions": {"data_type": "bigint"},
        "_pull_id": _TEXT,
        "_loaded_at": LOADED_AT,
    },
    s.CAMPAIGNS_TABLE: {
        **{
            c: _TEXT
            for c in (
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
            )
        },
        "_loaded_at": LOADED_AT,
    },
    s.ACCOUNTS_TABLE: {
        **{c: _TEXT for c in ("account_id", "name", "currency", "status", "type")},
        "_loaded_at": LOADED_AT,
    },
    s.PULLS_TABLE: {
        **{
            c: _TEXT
            for c in (
                "pull_id",
                "account_id",
                "connection",
                "method",
                "source",
                "file_name",
                "trigger",
            )
        },
        "date_start": {"data_type": "date"},
        "date_end": {"data_type": "date"},
        **{
            c: {"data_type": "bigint"}
            for c in ("rows", "new_rows", "restated_rows", "unchanged_rows", "zeroed_rows")
        },
        "seconds": {"data_type": "double"},
        "_loaded_at": LOADED_AT,
    },
}


def column_hints(table: str) -> dict[str, dict[str, Any]]:
    return {name: {"name": name, **hint} for name, hint in _HINTS[table].items()}


_TZ = pa.timestamp("us", tz="UTC")
_ARROW_TYPES = {
    "text": pa.string(),
    "date": pa.date32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
}
ANALYTICS_TABLE_SCHEMA = ANALYTICS_SCHEMA.append(pa.field("_pull_id", pa.string())).append(
    pa.field("_loaded_at", _TZ)
)


@dataclass
class AdsBatch:
    """Everything one load writes, as arrow tables / rows, ready for the source."""

    campaign_analytics: pa.Table = field(
        default_factory=lambda: ANALYTICS_TABLE_SCHEMA.empty_table()
    )
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    pulls: list[dict[str, Any]] = field(default_factory=list)


def _fetch(client: LinkedInAdsClient, accounts: list[str], start: date, end: date) -> AdsBatch:
    """A batch straight from the API (no comparison with the destination)."""
    from datetime import UTC, datetime

    loaded_at = datetime.now(UTC)
    batch = AdsBatch()
    rows = AnalyticsRows()
    for account_id in accounts:
        batch.accounts.append(
            {**account_row(account_id, client.account(account_id)), "_loaded_at": loaded_at}
        )
        campaigns = [campaign_row(account_id, c) for c in client.campaigns(account_id)]
        batch.campaigns += [{**c, "_loaded_at": loaded_at} for c in campaigns]
        for _lo, _hi, elements in client.daily_campaign_analytics(
            account_id, start, end, campaigns=len(campaigns)
        ):
            rows.extend_elements(account_id, elements)
    table = rows.table()
    batch.campaign_analytics = with_load_columns(table, None, loaded_at)
    return batch


def with_load_columns(table: pa.Table, pull_id: str | None, loaded_at) -> pa.Table:
    """The analytics table with ``_pull_id`` and ``_loaded_at`` appended."""
    n = table.num_rows
    return table.append_column(
        pa.field("_pull_id", pa.string()), pa.array([pull_id] * n, pa.string())
    ).append_column(pa.field("_loaded_at", _TZ), pa.array([loaded_at] * n, _TZ))


def _schema(table: str) -> pa.Schema:
    """Arrow schema of a dict-built table, from its column hints (timestamps: UTC)."""
    return pa.schema(
        [
            pa.field(
                name,
                _TZ if hint["data_type"] == "timestamp" else _ARROW_TYPES[hint["data_type"]],
                nullable=name not in _PRIMARY_KEYS[table],  # dlt makes key columns not null
            )
            for name, hint in _HINTS[table].items()
        ]
    )


def as_table(table: str, data: pa.Table | list[dict[str, Any]]) -> pa.Table:
    """The rows of ``table`` as an arrow table (an empty one still carries every column)."""
    if isinstance(data, pa.Table):
        return data
    schema = _schema(table)
    return pa.Table.from_pylist([{k: r.get(k) for k in schema.names} for r in data], schema=schema)


def _resource(get_batch, table: str) -> Any:
    def rows() -> Iterator[pa.Table]:
        batch = get_batch()
        if batch is None:
            return
        data = as_table(table, getattr(batch, table))
        if data.num_rows == 0:
            yield data  # creates the table with every column
        for chunk in data.to_batches(max_chunksize=s.ARROW_BATCH_ROWS):
            yield pa.Table.from_batches([chunk], schema=data.schema)

    return dlt.resource(
        rows,
        name=table,
        write_disposition="append" if table == s.PULLS_TABLE else MERGE,
        primary_key=list(_PRIMARY_KEYS[table]),
        columns=column_hints(table),
    )


@dlt.source(name=s.SOURCE_NAME)
def linkedin_ads_source(
    batch: AdsBatch | None = None,
    client: LinkedInAdsClient | None = None,
    accounts: list[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Any:
    """LinkedIn Ads as resources ``campaign_analytics``, ``campaigns``, ``accounts``, ``pulls``.

    Args:
        batch: an already fetched and compared batch (``load_linkedin_ads`` passes one);
            ``AdsBatch()`` (no rows) creates the empty tables.
        client, accounts, start, end: without a batch, fetch these accounts' daily campaign
            rows start..end (inclusive) with this client when the pipeline extracts.
    With neither, every resource yields nothing (Dagster builds the source at definition
    time).
    """
    cache: dict[str, AdsBatch | None] = {}

    def get_batch() -> AdsBatch | None:
        if "batch" not in cache:
            if batch is not None:
                cache["batch"] = batch
            elif client is not None and accounts and start is not None and end is not None:
                cache["batch"] = _fetch(client, list(accounts), start, end)
            else:
                cache["batch"] = None
        return cache["batch"]

    return [_resource(get_batch, table) for table in s.TABLES]
