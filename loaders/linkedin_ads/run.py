"""``outreach load linkedin-ads``: connections, the dlt pipeline run, the summary.

Per connection (one ad account each) the source reads the account, its campaigns and the
daily campaign rows of the window its incremental cursor gives (or ``start_date``), and
merges them into raw_linkedin_ads; a ``pulls`` row records the account, window and counts.
Counts (new / restated / unchanged, and rows that vanished from a window LinkedIn answered)
are reporting only: they are counted in SQL against the rows as they were before the load.
Modelling - what a vanished day means - is dbt's (``int_ads_campaign_days_joined``).

Connections: ``--connections FILE`` (``connections: [{name, account, method: oauth|test}]``)
or ``LINKEDIN_AD_ACCOUNTS`` (method oauth); ``OUTREACH_TEST_MODE=true`` makes every one
``test``: the server at a loopback ``LINKEDIN_BASE_URL``, else one this load starts
(``testing.linkedin_ads``, imported only then); the real token never goes to it.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dlt
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from dlt.pipeline.exceptions import PipelineStepFailed

from loaders.linkedin_ads import (
    arrow_rows,
    hints,
    linkedin_ads_source,
    pulls_resource,
    with_load_columns,
)
from loaders.linkedin_ads import settings as s
from loaders.linkedin_ads.helpers import (
    ANALYTICS_SCHEMA,
    HttpSettings,
    LinkedInAdsClient,
    LinkedInAdsError,
    LinkedInAuthError,
    LinkedInConfigError,
    LinkedInDataError,
    LinkedInRateLimited,
    account_id_of,
    analytics_table,
    read_export,
)
from outreach.dlt_pipelines import load_lock, warehouse_pipeline
from outreach.events import recorded
from outreach.http import mask_secrets
from outreach.settings import Settings, load_settings
from outreach.warehouse import database_url as warehouse_url
from outreach.warehouse import mask_url_password

__all__ = [
    "AdsLoadSummary",
    "LinkedInAdsError",
    "LinkedInAuthError",
    "LinkedInConfigError",
    "LinkedInRateLimited",
    "ensure_raw_tables",
    "import_analytics_file",
    "load_linkedin_ads",
    "resolve_connections",
]
Progress = Callable[[str], Any]
_COUNTS = ("new", "restated", "unchanged", "zeroed")


@dataclass
class AdsLoadSummary:
    """What one load did: the ``pulls`` rows (per account), HTTP counts, timings."""

    pulls: list[dict[str, Any]] = field(default_factory=list)
    http: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    rounded_costs: int = 0
    source: str = s.SOURCE_API
    file_name: str | None = None

    def total(self, name: str) -> int:
        return sum(p.get(f"{name}_rows" if name in _COUNTS else name) or 0 for p in self.pulls)

    @property
    def written(self) -> int:
        return self.total("rows")

    @property
    def accounts(self) -> list[dict[str, Any]]:
        return self.pulls

    def as_dict(self) -> dict[str, Any]:
        totals = {n: self.total(n) for n in ("rows", *_COUNTS)}
        pulls = [
            {k: v.isoformat() if isinstance(v, date) else v for k, v in p.items()}
            for p in self.pulls
        ]
        return {
            "source": self.source,
            "file": self.file_name,
            "seconds": round(self.seconds, 3),
            **totals,
            "rounded_costs": self.rounded_costs,
            "http": dict(self.http),
            "accounts": pulls,
        }

    def render(self) -> str:
        out = [f"linkedin-ads load into {s.DATASET_NAME} ({self.seconds:.2f} s)"]
        for p in self.pulls:
            counts = ", ".join(f"{p[f'{n}_rows']} {n}" for n in _COUNTS)
            out.append(
                f"{p['account_id'] or '(unknown)'}  {p.get('connection') or 'file'} "
                f"({p.get('method') or 'file'})  {p['date_start']} .. {p['date_end']}  "
                f"{p['rows']} rows: {counts}"
            )
        h = self.http
        out.append(
            f"{h['requests']} HTTP requests ({h['rate_limited']} rate-limited, "
            f"{h['server_errors']} server errors, retried by dlt's HTTP client)"
        )
        if self.rounded_costs:
            out.append(f"{self.rounded_costs} costs had more than {s.COST_SCALE} decimals: rounded")
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

    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise LinkedInConfigError(
            f"cannot read the connections file {path}: {exc.strerror}"
        ) from None
    except yaml.YAMLError as exc:
        raise LinkedInConfigError(f"the connections file {path} is not valid YAML: {exc}") from None
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
                f"{path}: connection #{n} has method {method!r}; expected one of "
                f"{', '.join(s.METHODS)}"
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
    """The file, else ``accounts``, else LINKEDIN_AD_ACCOUNTS, else (test mode only) the
    test-mode accounts. Global test mode makes every connection ``test``."""
    settings = settings or load_settings()
    if connections_file:
        connections = read_connections(Path(connections_file))
    else:
        ids = [account_id_of(a) for a in (accounts or settings.linkedin_ad_accounts)]
        ids = ids or (list(s.TEST_MODE_ACCOUNTS) if settings.test_mode else [])
        if not ids:
            raise LinkedInConfigError(
                "no LinkedIn ad accounts: set LINKEDIN_AD_ACCOUNTS (comma-separated ids), "
                "pass --connections FILE, or set OUTREACH_TEST_MODE=true for the test-mode server"
            )
        connections = [Connection(f"account {a}", a, s.METHOD_OAUTH) for a in ids]
    if settings.test_mode:
        connections = [Connection(c.name, c.account_id, s.METHOD_TEST) for c in connections]
    return connections


def _endpoint(
    method: str, settings: Settings, test_accounts: list[str], progress: Progress, stack: list
) -> tuple[str, str]:
    """(base URL, token) of a method; starts a local test server when one is needed."""
    base, token = settings.linkedin_base_url, settings.linkedin_access_token
    if method == s.METHOD_OAUTH:
        if not token:
            raise LinkedInConfigError(
                "LINKEDIN_ACCESS_TOKEN is not set (a connection uses method oauth); set it, "
                "or use method test / OUTREACH_TEST_MODE=true"
            )
        return base, token
    if urlsplit(base).hostname in ("127.0.0.1", "localhost", "::1"):
        return base, token or s.TEST_MODE_TOKEN
    from testing.linkedin_ads import LinkedInAdsTestServer

    server = LinkedInAdsTestServer(accounts=test_accounts, token=s.TEST_MODE_TOKEN)
    stack.append(server)
    progress(f"test mode: started the local LinkedIn Ads test server at {server.start()}")
    return server.base_url, s.TEST_MODE_TOKEN


# ---------------------------------------------------------------------------- pipeline
def ads_pipeline(database_url: str) -> dlt.Pipeline:
    return warehouse_pipeline(database_url, s.PIPELINE_NAME, s.DATASET_NAME)


def _cursors(pipeline: dlt.Pipeline) -> set[str]:
    """Accounts whose analytics cursor (dlt incremental state) is set."""
    resources = pipeline.state.get("sources", {}).get(s.SOURCE_NAME, {})
    prefix = f"{s.ANALYTICS_TABLE}_"
    return {
        name.removeprefix(prefix)
        for name, state in resources.get("resources", {}).items()
        if name.startswith(prefix) and state.get("incremental")
    }


_T = f"{s.DATASET_NAME}.{s.ANALYTICS_TABLE}"
_INDEXES = (  # the merge, the load's snapshot and dbt read the rows by these
    f"create index if not exists campaign_analytics_key on {_T} (campaign_id, date)",
    f"create index if not exists campaign_analytics_account_date on {_T} (account_id, date)",
)


def ensure_raw_tables(database_url: str) -> bool:
    """Create the empty raw_linkedin_ads tables (through the load's own pipeline) and the
    analytics indexes, so dbt can build before the first load. True if it created tables."""
    query = "select table_name from information_schema.tables where table_schema = %s"
    with psycopg.connect(database_url, autocommit=True) as conn:
        present = {r[0] for r in conn.execute(query, (s.DATASET_NAME,))}
    created = not set(s.TABLES) <= present
    if created:
        _run(database_url, [linkedin_ads_source(), pulls_resource([])])
    if created or not {"campaign_analytics_key"} <= _indexes(database_url):
        with psycopg.connect(database_url, autocommit=True) as conn:
            for statement in _INDEXES:
                conn.execute(statement)
    return created


def _indexes(url: str) -> set[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select indexname from pg_indexes where schemaname = %s", (s.DATASET_NAME,)
        )
        return {r[0] for r in rows}


def _run(
    url: str,
    data: list | None,
    progress: Progress = lambda _m: None,
    pipeline: dlt.Pipeline | None = None,
) -> None:
    """``pipeline.run``; ``data`` None: normalize and load what was extracted."""
    with load_lock(url, s.PIPELINE_NAME, progress=progress):
        pipeline = pipeline or ads_pipeline(url)
        if data is not None and pipeline.has_pending_data:
            progress("dropping an unfinished earlier load (its rows are fetched again)")
            pipeline.abort_packages()
        try:
            pipeline.run(data)
        except PipelineStepFailed as exc:
            cause = exc.exception
            raise LinkedInAdsError(
                f"loading into {s.DATASET_NAME} failed at step {exc.step}: {cause}"
            ) from exc


# the rows the windows touch, as they are before the load; can_vanish: a row with activity
# that no later pull answered with rows has already left out (int_ads_pull_days' rule)
_SNAPSHOT = f"""
select a.campaign_id, a.date, a.account_id, a.impressions, a.clicks,
    a.cost_in_local_currency, a.external_website_conversions,
    coalesce((a.impressions, a.clicks, a.cost_in_local_currency,
              a.external_website_conversions) != (0, 0, 0, 0), false)
    and not exists (
        select from {s.DATASET_NAME}.{s.PULLS_TABLE} as q
        where q.account_id = a.account_id and q.source = 'api' and q.rows > 0
          and q._loaded_at > a._loaded_at and a.date between q.date_start and q.date_end)
    as can_vanish
from {_T} as a where a.date between %(lo)s and %(hi)s
  and (a.account_id = any(%(accounts)s) or a.campaign_id = any(%(campaigns)s))
"""
_KEY = ["campaign_id", "date"]
_VALUES = ["impressions", "clicks", "cost_in_local_currency", "external_website_conversions"]


def _snapshot(url: str, pulls: list[dict]) -> pa.Table:
    """The rows the pulls' windows touch, before the load (arrow, one query)."""
    params = {
        "lo": min((p["date_start"] for p in pulls if p["date_start"]), default=date.max),
        "hi": max((p["date_end"] for p in pulls if p["date_end"]), default=date.min),
        "accounts": [p["account_id"] for p in pulls],
        "campaigns": sorted({c for p in pulls for c in p.pop("campaign_ids", [])}),
    }
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(_SNAPSHOT, params)
        columns = list(zip(*cur.fetchall(), strict=True)) or [[]] * 8
    names = ["campaign_id", "date", "account_id", *_VALUES, "can_vanish"]
    schema = pa.schema([ANALYTICS_SCHEMA.field(n) for n in names[:7]]).append(
        pa.field("can_vanish", pa.bool_())
    )
    return pa.table([pa.array(c, f.type) for c, f in zip(columns, schema, strict=True)], schema)


def _count(pulls: list[dict], before: pa.Table) -> None:
    """new / restated / unchanged / zeroed of each pull against ``before`` (arrow joins).
    zeroed: rows of the account in a window LinkedIn answered with rows that no pull of
    this load returned; reporting only, dbt decides what a vanished day means."""
    old = before.rename_columns([f"old_{n}" if n not in _KEY else n for n in before.column_names])
    fetched_keys = []
    for p in pulls:
        tables = p.pop("tables", None) or [ANALYTICS_SCHEMA.empty_table()]
        got = pa.concat_tables(tables).select(["account_id", *_KEY, *_VALUES])
        fetched_keys.append(got.select(_KEY))
        seen = got.join(old, keys=_KEY, join_type="inner")
        same = pc.and_kleene(
            _all_equal(seen, _VALUES),
            pc.or_kleene(
                pc.is_null(seen["old_account_id"]),
                pc.equal(seen["old_account_id"], seen["account_id"]),
            ),
        )
        p["new_rows"] = got.num_rows - seen.num_rows
        p["restated_rows"] = seen.num_rows - (pc.sum(pc.fill_null(same, False)).as_py() or 0)
        p["unchanged_rows"] = p["rows"] - p["new_rows"] - p["restated_rows"]
    left = before.join(pa.concat_tables(fetched_keys), keys=_KEY, join_type="left anti")
    left = left.filter(left["can_vanish"])
    for p in pulls:
        if p["source"] != s.SOURCE_API or not p["rows"]:
            p["zeroed_rows"] = 0
            continue
        mask = pc.and_(
            pc.equal(left["account_id"], p["account_id"]),
            pc.and_(
                pc.greater_equal(left["date"], p["date_start"]),
                pc.less_equal(left["date"], p["date_end"]),
            ),
        )
        p["zeroed_rows"] = pc.sum(pc.fill_null(mask, False)).as_py() or 0


def _all_equal(table: pa.Table, names: list[str]) -> pa.ChunkedArray:
    out = None
    for n in names:
        same = pc.equal(table[n], table[f"old_{n}"])
        out = same if out is None else pc.and_kleene(out, same)
    return out


def _load_and_count(
    url: str,
    data: list,
    pull_rows: Callable[[], list[dict]],
    progress: Progress,
    pipeline: dlt.Pipeline | None = None,
) -> list[dict]:
    """One extract: the rows (fetched), then the ``pulls`` rows, counted against the rows
    as they are before the load (dlt extracts the sources in order); then one normalize and
    load of both. The pulls."""
    if pipeline is None:
        ensure_raw_tables(url)
        pipeline = ads_pipeline(url)
    with load_lock(url, s.PIPELINE_NAME, progress=progress):  # extract through load
        if pipeline.has_pending_data:
            progress("dropping an unfinished earlier load (its rows are fetched again)")
            pipeline.abort_packages()
        pulls: list[dict] = []

        def counted() -> Any:
            pulls.extend(pull_rows())
            _count(pulls, _snapshot(url, pulls))
            yield arrow_rows(s.PULLS_TABLE, pulls)

        try:
            pipeline.extract([*data, dlt.resource(counted, **hints(s.PULLS_TABLE))])
        except PipelineStepFailed as exc:
            pipeline.abort_packages()
            cause: BaseException | None = exc
            while cause is not None and not isinstance(cause, LinkedInAdsError):
                cause = cause.__cause__
            raise cause or LinkedInAdsError(
                f"fetching LinkedIn Ads failed: {exc.exception}"
            ) from None
        _run(url, None, progress, pipeline)  # normalize and load
    return pulls


# ---------------------------------------------------------------------------- loads
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
    http: HttpSettings | None = None,
    endpoint: tuple[str, str] | None = None,
) -> AdsLoadSummary:
    """Daily campaign analytics (plus account and campaign names) for every connection,
    merged into raw_linkedin_ads. Raises a ``LinkedInAdsError`` subclass on failure; nothing
    is written unless every account was fetched. ``endpoint`` = (base URL, token) overrides
    the connections' endpoints (the demo and tests use a server they started)."""
    started = time.perf_counter()
    if lookback_days < 1 or initial_days < 1:
        raise LinkedInConfigError("lookback_days and initial_days must be at least 1")
    settings = load_settings()
    connections = resolve_connections(
        accounts=accounts, connections_file=connections_file, settings=settings
    )
    end = end_date or datetime.now(UTC).date()
    if start_date and start_date > end:
        raise LinkedInConfigError(f"--start-date {start_date} is after the end date {end}")
    url = database_url or warehouse_url()
    loaded_at = datetime.now(UTC)
    summary = AdsLoadSummary()
    servers: list = []
    clients: dict[str, LinkedInAdsClient] = {}
    found: dict[str, dict[str, Any]] = {}
    tests = [c.account_id for c in connections if c.method == s.METHOD_TEST]
    try:
        for method in dict.fromkeys(c.method for c in connections):
            base, token = endpoint or _endpoint(method, settings, tests, progress, servers)
            clients[method] = LinkedInAdsClient(base, token, http or HttpSettings(), summary.http)
        progress(
            f"loading {len(connections)} LinkedIn ad account(s) through {end} into "
            f"{s.DATASET_NAME} at {mask_url_password(url)}"
        )
        ensure_raw_tables(url)
        pipeline = ads_pipeline(url)  # one instance for the whole load
        # the cursors live in dlt's state, kept in the warehouse too: restore it first (what
        # run() does anyway) so a lost working folder does not make every account look new
        # and re-pull its first 30 days
        pipeline.sync_destination()
        source = linkedin_ads_source(
            {c.account_id: clients[c.method] for c in connections},
            start_date,
            end,
            lookback_days,
            initial_days,
            found,
            loaded_at,
            _cursors(pipeline),
        )

        def pull_rows() -> list[dict]:
            return [
                {
                    **found[c.account_id],
                    "account_id": c.account_id,
                    "connection": c.name,
                    "method": c.method,
                    "source": s.SOURCE_API,
                    "trigger": trigger,
                    "seconds": round(time.perf_counter() - started, 3),
                    "_loaded_at": loaded_at,
                }
                for c in connections
            ]

        summary.pulls = _load_and_count(url, [source], pull_rows, progress, pipeline)
    except LinkedInAdsError as exc:
        exc.args = (mask_secrets(str(exc), [c.token for c in clients.values()]),)
        raise
    finally:
        for client in clients.values():
            client.close()
        for server in servers:
            server.stop()
    summary.rounded_costs = sum(p.pop("rounded", 0) for p in summary.pulls)
    summary.seconds = time.perf_counter() - started
    for p in summary.pulls:
        progress(
            f"{p['connection']}: {p['date_start']} .. {p['date_end']}, {p['rows']} rows: "
            f"{p['new_rows']} new, {p['restated_rows']} restated, "
            f"{p['unchanged_rows']} unchanged, {p['zeroed_rows']} vanished"
        )
    return summary


@recorded("load.linkedin_ads")
def import_analytics_file(
    path: Path | str,
    *,
    account: str | None = None,
    database_url: str | None = None,
    trigger: str = "cli",
    progress: Progress = print,
) -> AdsLoadSummary:
    """Load an exported adAnalytics response (pivot CAMPAIGN, DAILY): ``{"elements": [...]}``,
    a list of elements or JSON Lines; merged the same way, recorded as a ``file`` pull. The
    rows' account is ``account``, else the single one in LINKEDIN_AD_ACCOUNTS, else null."""
    started = time.perf_counter()
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LinkedInConfigError(f"cannot read {path}: {exc.strerror}") from None
    if account is None:
        configured = load_settings().linkedin_ad_accounts
        account = configured[0] if len(configured) == 1 else None
    account_id = account_id_of(account) if account is not None else None
    try:
        table, rounded = analytics_table(account_id, read_export(data))
    except LinkedInDataError as exc:
        raise LinkedInDataError(f"{path.name}: {exc}") from None
    loaded_at, pull_id = datetime.now(UTC), os.urandom(16).hex()
    days = table.column("date")
    campaigns = sorted(set(table.column("campaign_id").to_pylist()))
    pull = {
        "pull_id": pull_id,
        "account_id": account_id,
        "source": s.SOURCE_FILE,
        "file_name": path.name,
        "trigger": trigger,
        "date_start": pc.min(days).as_py(),
        "date_end": pc.max(days).as_py(),
        "rows": table.num_rows,
        "campaign_ids": campaigns,
        "tables": [table],
        "_loaded_at": loaded_at,
    }
    data = [with_load_columns(table, pull_id, loaded_at)]
    rows = dlt.resource(data, name=s.ANALYTICS_TABLE, **hints(s.ANALYTICS_TABLE))
    url = database_url or warehouse_url()
    pulls = _load_and_count(url, [rows], lambda: [pull], progress)
    progress(
        f"{path.name}: {table.num_rows} rows ({pull['date_start']} .. {pull['date_end']}): "
        f"{pull['new_rows']} new, {pull['restated_rows']} restated, "
        f"{pull['unchanged_rows']} unchanged"
    )
    return AdsLoadSummary(
        pulls=pulls,
        seconds=time.perf_counter() - started,
        rounded_costs=rounded,
        source=s.SOURCE_FILE,
        file_name=path.name,
    )
