"""Load LinkedIn Ads into raw_linkedin_ads: the code behind ``outreach load linkedin-ads``.

A load, per connection (one ad account each):
1. the account and its campaigns (names, status) from ``adAccounts`` / ``adCampaigns``;
2. daily campaign rows from ``adAnalytics`` for the window: ``--start-date`` (backfill), or
   from ``lookback_days`` before the newest day already loaded for the account (LinkedIn
   restates recent days), or the last ``initial_days`` days for an account never loaded;
   through ``--end-date`` (default today, UTC);
3. a comparison with the rows already loaded for the window: new, restated (any number
   changed), unchanged (not written again, so ``_loaded_at`` says when a row last
   changed) and vanished (loaded before, missing now: written as zeros, because LinkedIn
   leaves out days without activity; only when the window's answer is not empty, so an
   account whose access was lost keeps its history);
4. one dlt load of all of it (merge on (campaign_id, date)) plus a ``pulls`` row per account.

``import_analytics_file`` loads an exported adAnalytics response the same way (merge, no
vanished rows: an export says nothing about what it leaves out).

Connections come from a connections file (``--connections FILE``)::

    connections:
      - name: brand            # a label for logs and raw_linkedin_ads.pulls
        account: 507404993     # or urn:li:sponsoredAccount:507404993
        method: oauth          # LINKEDIN_ACCESS_TOKEN against LINKEDIN_BASE_URL
      - name: sandbox
        account: 510000001
        method: test           # the local test-mode server (seeded data)

or, without a file, from ``LINKEDIN_AD_ACCOUNTS`` (method oauth). ``OUTREACH_TEST_MODE=true``
turns every connection into ``test``. A ``test`` connection talks to the server at
``LINKEDIN_BASE_URL`` when that is a loopback address, else to one started for the load;
the real token is never sent to a test server this module starts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dlt
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from dlt.pipeline.exceptions import PipelineStepFailed

from loaders.linkedin_ads import AdsBatch, linkedin_ads_source, with_load_columns
from loaders.linkedin_ads import settings as s
from loaders.linkedin_ads.helpers import (
    AnalyticsRows,
    ClientStats,
    LinkedInAdsClient,
    LinkedInAdsError,
    LinkedInAuthError,
    LinkedInConfigError,
    LinkedInDataError,
    LinkedInRateLimited,
    RetryPolicy,
    account_id_of,
    account_row,
    campaign_row,
    read_export,
    redact,
)
from outreach.dlt_pipelines import warehouse_pipeline
from outreach.events import recorded
from outreach.settings import Settings, load_settings
from outreach.warehouse import database_url as warehouse_url
from outreach.warehouse import redact as redact_url

__all__ = [
    "AdsLoadSummary",
    "Connection",
    "LinkedInAdsError",
    "LinkedInAuthError",
    "LinkedInConfigError",
    "LinkedInRateLimited",
    "ads_pipeline",
    "ensure_raw_tables",
    "import_analytics_file",
    "load_linkedin_ads",
    "resolve_connections",
]

Progress = Callable[[str], Any]


# ---------------------------------------------------------------------------- summary
@dataclass
class AccountStats:
    account_id: str
    connection: str
    method: str
    start: date | None
    end: date | None
    campaigns: int = 0
    rows: int = 0
    new: int = 0
    restated: int = 0
    unchanged: int = 0
    zeroed: int = 0
    requests: int = 0
    kept_on_empty_answer: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "connection": self.connection,
            "method": self.method,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "campaigns": self.campaigns,
            "rows": self.rows,
            "new": self.new,
            "restated": self.restated,
            "unchanged": self.unchanged,
            "zeroed": self.zeroed,
            "requests": self.requests,
        }


@dataclass
class AdsLoadSummary:
    """What one load did: per account the window and row counts, plus totals and timings."""

    accounts: list[AccountStats] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    client: ClientStats = field(default_factory=ClientStats)
    rounded_costs: int = 0
    written: int = 0
    loaded_at: datetime | None = None
    source: str = s.SOURCE_API
    file_name: str | None = None

    def total(self, name: str) -> int:
        return sum(getattr(a, name) for a in self.accounts)

    @property
    def data_through(self) -> date | None:
        ends = [a.end for a in self.accounts if a.end]
        return max(ends) if ends else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "file": self.file_name,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "rows": self.total("rows"),
            "new": self.total("new"),
            "restated": self.total("restated"),
            "unchanged": self.total("unchanged"),
            "zeroed": self.total("zeroed"),
            "written": self.written,
            "rounded_costs": self.rounded_costs,
            "http": self.client.as_dict(),
            "accounts": [a.as_dict() for a in self.accounts],
        }

    def render(self) -> str:
        header = (
            "account",
            "connection",
            "window",
            "campaigns",
            "rows",
            "new",
            "restated",
            "unchanged",
            "zeroed",
        )
        body = [
            (
                a.account_id,
                f"{a.connection} ({a.method})",
                f"{a.start} .. {a.end}" if a.start else "-",
                a.campaigns,
                a.rows,
                a.new,
                a.restated,
                a.unchanged,
                a.zeroed,
            )
            for a in self.accounts
        ]
        widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]

        def line(row: tuple) -> str:
            return "  ".join(
                str(v).ljust(widths[i]) if i < 3 else str(v).rjust(widths[i])
                for i, v in enumerate(row)
            ).rstrip()

        out = [f"linkedin-ads load into {s.DATASET_NAME} ({self.seconds:.2f} s)", line(header)]
        out += [line(r) for r in body]
        http = self.client
        out.append(
            f"{self.written} rows written (new, restated or zeroed); {http.requests} HTTP requests, "
            f"{http.retries} retried ({http.rate_limited} rate-limited, {http.waited_s:.1f} s backoff)"
        )
        if self.rounded_costs:
            out.append(f"{self.rounded_costs} costs had more than {s.COST_SCALE} decimals: rounded")
        kept = self.total("kept_on_empty_answer")
        if kept:
            out.append(
                f"{kept} loaded rows kept: LinkedIn answered a window with no rows at all "
                "(no activity, or no read access to the account any more?)"
            )
        return "\n".join(out)


# ---------------------------------------------------------------------------- connections
@dataclass(frozen=True)
class Connection:
    name: str
    account_id: str
    method: str = s.METHOD_OAUTH


def read_connections(path: Path) -> list[Connection]:
    """Connections from a YAML (or JSON) file: ``connections: [{name, account, method}]``."""
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise LinkedInConfigError(
            f"cannot read the connections file {path}: {exc.strerror}"
        ) from exc
    except yaml.YAMLError as exc:
        raise LinkedInConfigError(f"the connections file {path} is not valid YAML: {exc}") from exc
    items = doc.get("connections") if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not items:
        raise LinkedInConfigError(
            f"{path}: expected `connections:` with a list of {{name, account, method}}"
        )
    out = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict) or item.get("account") is None:
            raise LinkedInConfigError(f"{path}: connection #{n} has no `account`")
        method = str(item.get("method") or s.METHOD_OAUTH).strip().lower()
        if method not in s.METHODS:
            raise LinkedInConfigError(
                f"{path}: connection #{n} has method {method!r}; expected one of {', '.join(s.METHODS)}"
            )
        account = account_id_of(item["account"])
        out.append(Connection(str(item.get("name") or f"account {account}"), account, method))
    return out


def resolve_connections(
    *,
    accounts: Iterable[str] | None = None,
    connections_file: Path | str | None = None,
    settings: Settings | None = None,
) -> list[Connection]:
    """The connections of a load: the file, else ``accounts``, else LINKEDIN_AD_ACCOUNTS,
    else (test mode only) the test-mode accounts. Global test mode makes every one ``test``."""
    settings = settings or load_settings()
    if connections_file:
        connections = read_connections(Path(connections_file))
    else:
        ids = [account_id_of(a) for a in (accounts or settings.linkedin_ad_accounts)]
        if not ids and settings.test_mode:
            ids = list(s.TEST_MODE_ACCOUNTS)
        if not ids:
            raise LinkedInConfigError(
                "no LinkedIn ad accounts: set LINKEDIN_AD_ACCOUNTS (comma-separated ids), "
                "pass --connections FILE, or set OUTREACH_TEST_MODE=true for the test-mode server"
            )
        connections = [Connection(f"account {a}", a, s.METHOD_OAUTH) for a in ids]
    if settings.test_mode:
        connections = [Connection(c.name, c.account_id, s.METHOD_TEST) for c in connections]
    return connections


def _is_loopback(url: str) -> bool:
    return urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")


class _Endpoints:
    """One client per method; starts (and stops) a local test server when one is needed."""

    def __init__(
        self,
        settings: Settings,
        retry: RetryPolicy | None,
        progress: Progress,
        override: tuple[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.override = override
        self.retry = retry or RetryPolicy()
        self.progress = progress
        self.server = None
        self.clients: dict[str, LinkedInAdsClient] = {}
        self.stats = ClientStats()

    def client(self, connection: Connection, test_accounts: list[str]) -> LinkedInAdsClient:
        if connection.method in self.clients:
            return self.clients[connection.method]
        st = self.settings
        if self.override is not None:
            base, token = self.override
        elif connection.method == s.METHOD_OAUTH:
            if not st.linkedin_access_token:
                raise LinkedInConfigError(
                    f"LINKEDIN_ACCESS_TOKEN is not set (connection {connection.name!r} uses "
                    "method oauth); set it, or use method test / OUTREACH_TEST_MODE=true"
                )
            base, token = st.linkedin_base_url, st.linkedin_access_token
        elif _is_loopback(st.linkedin_base_url):
            base, token = st.linkedin_base_url, st.linkedin_access_token or s.TEST_MODE_TOKEN
        else:
            from loaders.linkedin_ads.testserver import LinkedInAdsTestServer

            self.server = LinkedInAdsTestServer(accounts=test_accounts, token=s.TEST_MODE_TOKEN)
            base, token = self.server.start(), s.TEST_MODE_TOKEN
            self.progress(f"test mode: started the local LinkedIn Ads test server at {base}")
        client = LinkedInAdsClient(base, token, retry=self.retry, stats=self.stats)
        self.clients[connection.method] = client
        return client

    def secrets(self) -> list[str]:
        return [c.token for c in self.clients.values()]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()
        if self.server is not None:
            self.server.stop()


# ---------------------------------------------------------------------------- pipeline
def ads_pipeline(database_url: str) -> dlt.Pipeline:
    """The linkedin_ads pipeline for this database (its working dir is keyed by the database)."""
    return warehouse_pipeline(database_url, s.PIPELINE_NAME, s.DATASET_NAME)


def _present_tables(conn: psycopg.Connection) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = %s",
            (s.DATASET_NAME,),
        )
    }


_INDEXES = (
    f"create index if not exists campaign_analytics_key on {s.DATASET_NAME}.{s.ANALYTICS_TABLE} "
    "(campaign_id, date)",
    f"create index if not exists campaign_analytics_account_date on "
    f"{s.DATASET_NAME}.{s.ANALYTICS_TABLE} (account_id, date)",
)


def ensure_raw_tables(database_url: str) -> bool:
    """Create the (empty) raw_linkedin_ads tables if they are missing, through the same dlt
    pipeline a load uses, so dbt can build before the first load. True if it created any."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if set(s.TABLES) <= _present_tables(conn):
            return False
    _run_pipeline(database_url, AdsBatch())
    return True


def _run_pipeline(database_url: str, batch: AdsBatch, progress: Progress = lambda _m: None) -> None:
    pipeline = ads_pipeline(database_url)
    if pipeline.has_pending_data:
        progress("dropping an unfinished earlier load (its rows are fetched again)")
        pipeline.abort_packages()
    try:
        pipeline.run(linkedin_ads_source(batch=batch))
    except PipelineStepFailed as exc:
        raise LinkedInAdsError(
            f"loading into {s.DATASET_NAME} failed at step {exc.step}: {exc.exception}"
        ) from exc
    with psycopg.connect(database_url, autocommit=True) as conn:
        for ddl in _INDEXES:
            conn.execute(ddl)


# ---------------------------------------------------------------------------- compare
def last_loaded_dates(database_url: str) -> dict[str, date]:
    """Newest day loaded per account (accounts never loaded are absent)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if s.ANALYTICS_TABLE not in _present_tables(conn):
            return {}
        rows = conn.execute(
            f"select account_id, max(date) from {s.DATASET_NAME}.{s.ANALYTICS_TABLE} "
            "where account_id is not null group by account_id"
        ).fetchall()
    return {a: d for a, d in rows}


@dataclass
class _Compared:
    table: pa.Table  # rows to write (new, restated, zeroed), without load columns
    new: int = 0
    restated: int = 0
    unchanged: int = 0
    zeroed: int = 0
    kept: int = 0


def _existing(
    database_url: str, campaign_ids: list[str], start: date, end: date
) -> dict[tuple[str, date], tuple]:
    if not campaign_ids:
        return {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        if s.ANALYTICS_TABLE not in _present_tables(conn):
            return {}
        rows = conn.execute(
            f"""
            select campaign_id, date, impressions, clicks, cost_in_local_currency,
                   external_website_conversions, account_id
            from {s.DATASET_NAME}.{s.ANALYTICS_TABLE}
            where campaign_id = any(%s) and date between %s and %s
            """,
            (campaign_ids, start, end),
        ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def _compare(
    fetched: pa.Table,
    existing: dict[tuple[str, date], tuple],
    *,
    account_id: str | None,
    zero_fill: bool,
    windows_with_rows: list[tuple[date, date]] | None = None,
) -> _Compared:
    """Split the fetched rows into new / restated / unchanged and add zero rows for rows
    that vanished from a window LinkedIn answered with some rows."""
    if not existing:
        return _Compared(table=fetched, new=fetched.num_rows)
    keep = []
    out = _Compared(table=fetched)
    seen: set[tuple[str, date]] = set()
    cols = fetched.select(
        [
            "campaign_id",
            "date",
            "impressions",
            "clicks",
            "cost_in_local_currency",
            "external_website_conversions",
        ]
    ).to_pydict()
    for i, key in enumerate(zip(cols["campaign_id"], cols["date"], strict=True)):
        seen.add(key)
        old = existing.get(key)
        new = (
            cols["impressions"][i],
            cols["clicks"][i],
            cols["cost_in_local_currency"][i],
            cols["external_website_conversions"][i],
        )
        if old is None:
            out.new += 1
            keep.append(True)
        elif tuple(old[:4]) == new and (account_id is None or old[4] == account_id):
            out.unchanged += 1
            keep.append(False)
        else:
            out.restated += 1
            keep.append(True)
    table = fetched.filter(pa.array(keep, pa.bool_()))
    if zero_fill:
        zero = AnalyticsRows()
        for (campaign_id, day), old in sorted(existing.items()):
            if (campaign_id, day) in seen:
                continue
            answered = any(lo <= day <= hi for lo, hi in windows_with_rows or [])
            if not answered:
                out.kept += 1
                continue
            if old[:4] == (0, 0, Decimal(0), 0):
                continue  # already zero
            zero.add(account_id, campaign_id, day, 0, 0, "0", 0)
            out.zeroed += 1
        if len(zero):
            table = pa.concat_tables([table, zero.table()])
    out.table = table
    return out


# ---------------------------------------------------------------------------- loads
def _utc_today() -> date:
    return datetime.now(UTC).date()


@recorded("load.linkedin_ads")
def load_linkedin_ads(
    *,
    database_url: str | None = None,
    accounts: Iterable[str] | None = None,
    connections_file: Path | str | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    lookback_days: int = s.DEFAULT_LOOKBACK_DAYS,
    initial_days: int = s.DEFAULT_INITIAL_DAYS,
    trigger: str = "cli",
    progress: Progress = print,
    retry: RetryPolicy | None = None,
    endpoint: tuple[str, str] | None = None,
) -> AdsLoadSummary:
    """Pull daily campaign analytics (plus account and campaign names) for every connection
    and merge them into raw_linkedin_ads. Raises a ``LinkedInAdsError`` subclass on failure:
    ``LinkedInAuthError`` (401), ``LinkedInRateLimited``, ``LinkedInConfigError``, ...;
    nothing is written unless every account was fetched. ``endpoint`` = (base URL, token)
    overrides the connections' endpoints (the demo and tests use a server they started)."""
    started = time.perf_counter()
    if lookback_days < 1 or initial_days < 1:
        raise LinkedInConfigError("lookback_days and initial_days must be at least 1")
    settings = load_settings()
    connections = resolve_connections(
        accounts=accounts, connections_file=connections_file, settings=settings
    )
    end = end_date or _utc_today()
    if start_date and start_date > end:
        raise LinkedInConfigError(f"--start-date {start_date} is after the end date {end}")
    url = database_url or warehouse_url()
    last = last_loaded_dates(url)
    loaded_at = datetime.now(UTC)
    summary = AdsLoadSummary(loaded_at=loaded_at)
    batch = AdsBatch()
    to_write: list[pa.Table] = []
    endpoints = _Endpoints(settings, retry, progress, endpoint)
    summary.client = endpoints.stats
    test_accounts = [c.account_id for c in connections if c.method == s.METHOD_TEST]
    t_fetch = t_compare = 0.0
    try:
        for conn in connections:
            t0 = time.perf_counter()
            client = endpoints.client(conn, test_accounts)
            requests_before = endpoints.stats.requests
            account = client.account(conn.account_id)
            campaigns = [
                campaign_row(conn.account_id, c) for c in client.campaigns(conn.account_id)
            ]
            if start_date:
                start = start_date
            elif conn.account_id in last:
                start = last[conn.account_id] - timedelta(days=lookback_days - 1)
            else:
                start = end - timedelta(days=initial_days - 1)
            start = min(start, end)
            progress(
                f"{conn.name} ({conn.method}): account {conn.account_id}, {len(campaigns)} "
                f"campaigns, days {start} .. {end}"
            )
            rows = AnalyticsRows()
            answered: list[tuple[date, date]] = []
            for lo, hi, elements in client.daily_campaign_analytics(
                conn.account_id, start, end, campaigns=len(campaigns)
            ):
                rows.extend_elements(conn.account_id, elements)
                if elements:
                    answered.append((lo, hi))
            fetched = rows.table()
            summary.rounded_costs += rows.rounded_costs
            t1 = time.perf_counter()
            ids = sorted(
                {c["campaign_id"] for c in campaigns}
                | set(fetched.column("campaign_id").to_pylist())
            )
            compared = _compare(
                fetched,
                _existing(url, ids, start, end),
                account_id=conn.account_id,
                zero_fill=True,
                windows_with_rows=answered,
            )
            t_fetch += t1 - t0
            t_compare += time.perf_counter() - t1
            pull_id = uuid.uuid4().hex
            stats = AccountStats(
                account_id=conn.account_id,
                connection=conn.name,
                method=conn.method,
                start=start,
                end=end,
                campaigns=len(campaigns),
                rows=fetched.num_rows,
                new=compared.new,
                restated=compared.restated,
                unchanged=compared.unchanged,
                zeroed=compared.zeroed,
                requests=endpoints.stats.requests - requests_before,
                kept_on_empty_answer=compared.kept,
            )
            summary.accounts.append(stats)
            to_write.append(with_load_columns(compared.table, pull_id, loaded_at))
            batch.accounts.append(
                {**account_row(conn.account_id, account), "_loaded_at": loaded_at}
            )
            batch.campaigns += [{**c, "_loaded_at": loaded_at} for c in campaigns]
            batch.pulls.append(
                _pull_row(pull_id, stats, conn, trigger, time.perf_counter() - t0, loaded_at)
            )
            progress(
                f"  {fetched.num_rows} rows: {compared.new} new, {compared.restated} restated, "
                f"{compared.unchanged} unchanged, {compared.zeroed} vanished (zeroed)"
            )
    except LinkedInAdsError as exc:
        raise _scrubbed(exc, endpoints.secrets()) from exc.__cause__
    finally:
        endpoints.close()
    batch.campaign_analytics = pa.concat_tables(to_write) if to_write else batch.campaign_analytics
    summary.written = batch.campaign_analytics.num_rows
    t2 = time.perf_counter()
    progress(
        f"loading into {s.DATASET_NAME} at {redact_url(url)}: {summary.written} analytics rows, "
        f"{len(batch.campaigns)} campaigns, {len(batch.accounts)} accounts"
    )
    _run_pipeline(url, batch, progress)
    summary.timings = {"fetch": t_fetch, "compare": t_compare, "load": time.perf_counter() - t2}
    summary.seconds = time.perf_counter() - started
    return summary


def _scrubbed(exc: LinkedInAdsError, secrets: list[str]) -> LinkedInAdsError:
    """The same error with every secret removed from its text (belt and braces)."""
    text = redact(str(exc), secrets)
    if text != str(exc):
        exc.args = (text,)
    return exc


def _pull_row(
    pull_id: str,
    stats: AccountStats,
    conn: Connection | None,
    trigger: str,
    seconds: float,
    loaded_at: datetime,
    *,
    source: str = s.SOURCE_API,
    file_name: str | None = None,
) -> dict[str, Any]:
    return {
        "pull_id": pull_id,
        "account_id": stats.account_id,
        "connection": conn.name if conn else None,
        "method": conn.method if conn else None,
        "source": source,
        "file_name": file_name,
        "trigger": trigger,
        "date_start": stats.start,
        "date_end": stats.end,
        "rows": stats.rows,
        "new_rows": stats.new,
        "restated_rows": stats.restated,
        "unchanged_rows": stats.unchanged,
        "zeroed_rows": stats.zeroed,
        "seconds": round(seconds, 3),
        "_loaded_at": loaded_at,
    }


@recorded("load.linkedin_ads")
def import_analytics_file(
    path: Path | str,
    *,
    account: str | None = None,
    database_url: str | None = None,
    trigger: str = "cli",
    progress: Progress = print,
) -> AdsLoadSummary:
    """Load an exported adAnalytics response (pivot CAMPAIGN, DAILY) from a file.

    The account of the rows is ``account``, else the single account in LINKEDIN_AD_ACCOUNTS,
    else unknown (null; the dbt models take it from the campaigns table when it is there).
    """
    started = time.perf_counter()
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LinkedInConfigError(f"cannot read {path}: {exc.strerror}") from exc
    if account is None:
        configured = load_settings().linkedin_ad_accounts
        account = configured[0] if len(configured) == 1 else None
    account_id = account_id_of(account) if account is not None else None
    rows = AnalyticsRows()
    try:
        rows.extend_elements(account_id, read_export(data))
    except LinkedInDataError as exc:
        raise LinkedInDataError(f"{path.name}: {exc}") from exc
    fetched = rows.table()
    url = database_url or warehouse_url()
    loaded_at = datetime.now(UTC)
    days = fetched.column("date")
    start = pc.min(days).as_py() if fetched.num_rows else None
    end = pc.max(days).as_py() if fetched.num_rows else None
    existing = (
        _existing(url, sorted(set(fetched.column("campaign_id").to_pylist())), start, end)
        if fetched.num_rows
        else {}
    )
    compared = _compare(fetched, existing, account_id=account_id, zero_fill=False)
    pull_id = uuid.uuid4().hex
    stats = AccountStats(
        account_id=account_id or "(unknown)",
        connection="file",
        method="file",
        start=start,
        end=end,
        campaigns=len(set(fetched.column("campaign_id").to_pylist())),
        rows=fetched.num_rows,
        new=compared.new,
        restated=compared.restated,
        unchanged=compared.unchanged,
    )
    batch = AdsBatch(campaign_analytics=with_load_columns(compared.table, pull_id, loaded_at))
    pull = _pull_row(
        pull_id, stats, None, trigger, 0.0, loaded_at, source=s.SOURCE_FILE, file_name=path.name
    )
    pull["account_id"] = account_id
    batch.pulls.append(pull)
    progress(
        f"{path.name}: {fetched.num_rows} rows ({start} .. {end}): {compared.new} new, "
        f"{compared.restated} restated, {compared.unchanged} unchanged"
    )
    _run_pipeline(url, batch, progress)
    return AdsLoadSummary(
        accounts=[stats],
        seconds=time.perf_counter() - started,
        rounded_costs=rows.rounded_costs,
        written=compared.table.num_rows,
        loaded_at=loaded_at,
        source=s.SOURCE_FILE,
        file_name=path.name,
    )
