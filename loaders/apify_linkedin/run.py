"""Front doors of the Apify LinkedIn loader: ``refresh_profiles`` and ``import_dataset``.

A refresh picks the profiles due (tracked people not observed for 30 days; every tracked
profile with ``all_profiles``), splits them into jobs of at most ``max_profiles``, and
for each job, through the official ``apify-client``: starts the actor run, waits for a
terminal status within ``timeout_s`` (else aborts the run), reads every dataset item as
the client pages them into ``raw_apify.profile_items`` (dlt, arrow batches) and records
the outcome in ``raw_apify.refresh_jobs`` (published as ``marketing.linkedin_refresh_jobs``).
Retries and backoff are the client's; failures never raise out of a job: they end it
``failed`` with an ``error_message`` and a typed ``error_kind``.

``OUTREACH_TEST_MODE=true`` talks to the local test-mode server: the one at
``APIFY_BASE_URL`` when that is a loopback address, else one started for the call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from dlt.pipeline.exceptions import PipelineStepFailed

from loaders.apify_linkedin import jobs as J
from loaders.apify_linkedin import settings as s
from loaders.apify_linkedin.files import open_dataset
from loaders.apify_linkedin.helpers import (
    ApifyError,
    ApifyRateLimited,
    ApifyRunFailed,
    EmptyDataset,
    MalformedDataset,
    dataset_items,
    make_client,
    normalize_linkedin_url,
    typed_error,
    wait_for_run,
)
from loaders.apify_linkedin.jobs import (
    circuit_breaker_state,
    last_completed_refresh,
    rate_limit_state,
)
from loaders.apify_linkedin.source import (
    ITEM_SCHEMA,
    JSON_TEXT_RESOURCES,
    ItemCollector,
    apify_linkedin_source,
    dataset_fingerprint,
)
from outreach.dlt_pipelines import load_lock, pipelines_dir_for, warehouse_pipeline
from outreach.events import OperatorError, recorded
from outreach.http import mask_secrets
from outreach.settings import load_settings
from outreach.tombstones import read_tombstones

__all__ = [
    "ApifyConfigError",
    "JobOutcome",
    "RefreshResult",
    "circuit_breaker_state",
    "ensure_raw_tables",
    "import_dataset",
    "last_completed_refresh",
    "rate_limit_state",
    "refresh_profiles",
    "run_cli",
]

Progress = Callable[[str], Any]

# a vendor-level failure: the next job would fail the same way, so stop the refresh
_STOP_KINDS = {"http_error", "server_error", "transport_error", "rate_limited", "invalid_response"}


class ApifyConfigError(ApifyError, OperatorError):
    """The loader cannot start: no token, unreadable file, bad argument."""

    kind = "config_error"


# ---------------------------------------------------------------------------- results
@dataclass
class JobOutcome:
    job_unique_id: str
    status: str
    total_profiles: int
    profiles_completed: int
    profiles_skipped: int
    items_received: int
    items_landed: int
    run_id: str | None
    dataset_id: str | None
    error_message: str | None
    metadata: dict[str, Any]
    error_kind: str | None = None

    @property
    def rate_limited(self) -> bool:
        return bool(self.metadata.get("rate_limit_hit"))

    def line(self) -> str:
        text = (
            f"{self.job_unique_id} {self.status}: {self.profiles_completed}/{self.total_profiles}"
            f" profiles, {self.profiles_skipped} skipped, {self.items_landed} new raw rows"
        )
        if self.metadata.get("unparsed_items"):
            text += f", {self.metadata['unparsed_items']} unparsed items"
        if self.rate_limited:
            text += f", rate-limited (retry in {self.metadata.get('retry_after_seconds')}s)"
        if self.error_message:
            text += f" — {self.error_message}"
        return text


@dataclass
class RefreshResult:
    """What one refresh (or import) did: its jobs, or why it was skipped."""

    jobs: list[JobOutcome] = field(default_factory=list)
    tracked_profiles: int = 0
    profiles_due: int = 0
    profiles_deferred: int = 0  # due but not attempted (an earlier job hit a vendor failure)
    skipped_reason: str | None = None
    tracked_source: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.skipped_reason is None and all(j.status == "completed" for j in self.jobs)

    @property
    def failed(self) -> bool:
        return any(j.status == "failed" for j in self.jobs)

    @property
    def rate_limited(self) -> bool:
        return any(j.rate_limited for j in self.jobs)

    @property
    def retry_after_seconds(self) -> int | None:
        limited = [j for j in self.jobs if j.rate_limited]
        return limited[-1].metadata.get("retry_after_seconds") if limited else None

    @property
    def profiles_seen(self) -> int:
        return sum(j.profiles_completed for j in self.jobs)

    @property
    def profiles_skipped(self) -> int:
        return sum(j.profiles_skipped for j in self.jobs)

    @property
    def unparsed_items(self) -> int:
        return sum(j.metadata.get("unparsed_items", 0) for j in self.jobs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs": [j.__dict__ for j in self.jobs],
            "tracked_profiles": self.tracked_profiles,
            "profiles_due": self.profiles_due,
            "profiles_seen": self.profiles_seen,
            "profiles_skipped": self.profiles_skipped,
            "profiles_deferred": self.profiles_deferred,
            "unparsed_items": self.unparsed_items,
            "skipped_reason": self.skipped_reason,
            "rate_limited": self.rate_limited,
            "retry_after_seconds": self.retry_after_seconds,
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> dict[str, Any]:
        """Run metadata for the orchestrator (plain values plus a markdown table of jobs)."""
        hours = self.seconds / 3600
        table = [
            "| job | status | profiles | skipped | new rows | error |",
            "|---|---|---|---|---|---|",
        ]
        table += [
            f"| {j.job_unique_id} | {j.status} | {j.profiles_completed}/{j.total_profiles} "
            f"| {j.profiles_skipped} | {j.items_landed} | {(j.error_message or '')[:80]} |"
            for j in self.jobs
        ]
        return {
            "jobs": len(self.jobs),
            "jobs_failed": sum(j.status == "failed" for j in self.jobs),
            "profiles_due": self.profiles_due,
            "profiles_seen": self.profiles_seen,
            "profiles_skipped": self.profiles_skipped,
            "profiles_deferred": self.profiles_deferred,
            "unparsed_items": self.unparsed_items,
            "duration_seconds": round(self.seconds, 1),
            "profiles_per_hour": round(self.profiles_seen / hours) if hours > 0 else 0,
            "rate_limited": self.rate_limited,
            "retry_after_seconds": self.retry_after_seconds,
            "skipped_reason": self.skipped_reason,
            "jobs_table": "\n".join(table),
        }

    def render(self) -> str:
        if self.skipped_reason:
            return f"refresh skipped: {self.skipped_reason}"
        lines = [
            f"{len(self.jobs)} job(s) in {self.seconds:.1f}s: {self.profiles_seen} profiles seen, "
            f"{self.profiles_skipped} skipped"
            + (f", {self.profiles_deferred} deferred" if self.profiles_deferred else "")
        ]
        lines += [f"  {j.line()}" for j in self.jobs]
        return "\n".join(lines)


# ---------------------------------------------------------------------------- plumbing
def _now() -> datetime:
    return datetime.now(UTC)


_PIPELINES: dict[tuple[str, str], Any] = {}


def pipeline_for(database_url: str, pipelines_dir: Path | None = None):
    """The dlt pipeline for this database (its working dir is keyed by the database);
    one object per database and working dir in this process (creating one costs ~0.2 s)."""
    pipelines_dir = pipelines_dir or pipelines_dir_for(database_url)
    cache_key = (database_url, str(pipelines_dir))
    cached = _PIPELINES.get(cache_key)
    if cached is not None and not Path(cached.working_dir).is_dir():
        # its working folder was removed (the database dropped and made again, or the state
        # folder cleaned): a new pipeline restores its state from the warehouse
        del _PIPELINES[cache_key]
    if cache_key not in _PIPELINES:
        _PIPELINES[cache_key] = warehouse_pipeline(
            database_url,
            s.PIPELINE_NAME,
            s.DATASET_NAME,
            pipelines_dir,
            json_text_resources=JSON_TEXT_RESOURCES,
        )
    return _PIPELINES[cache_key]


def land(
    collector: ItemCollector,
    items: Iterable[Any],
    database_url: str,
    *,
    pipelines_dir: Path | None = None,
    timings: dict[str, float] | None = None,
) -> None:
    """Extract the items through ``collector``; load them unless the stream ended in an
    error (then nothing from this dataset lands). A 429 that outlasted the client's retries
    keeps what arrived before it (partial success). ``timings`` receives each step's seconds."""
    with load_lock(database_url, s.PIPELINE_NAME, pipelines_dir):
        _land(collector, items, database_url, pipelines_dir, timings)


def _land(
    collector: ItemCollector,
    items: Iterable[Any],
    database_url: str,
    pipelines_dir: Path | None,
    timings: dict[str, float] | None,
) -> None:
    clock = time.perf_counter
    pipeline = pipeline_for(database_url, pipelines_dir)
    if pipeline.has_pending_data:
        pipeline.drop_pending_packages()  # an interrupted earlier load; its job is failed
    new_dataset = not J.dataset_landed(database_url, collector.dataset_id)
    collector.erased = read_tombstones(database_url)  # GDPR-erased people never land
    source = apify_linkedin_source(collector.batches(items), new_dataset=new_dataset)
    t0 = clock()
    pipeline.extract(source, loader_file_format="csv")
    t1 = clock()
    if collector.error is not None or collector.items_kept == 0:
        pipeline.drop_pending_packages()
        return
    pipeline.normalize()
    t2 = clock()
    pipeline.load(raise_on_failed_jobs=True)
    t3 = clock()
    J.ensure_item_indexes(database_url)
    if timings is not None:
        timings.update(
            parse_and_extract=t1 - t0, normalize=t2 - t1, load=t3 - t2, indexes=clock() - t3
        )


def ensure_raw_tables(database_url: str) -> bool:
    """Create the (empty) raw_apify tables if missing - the jobs table by DDL, the items
    table through the same dlt pipeline a refresh uses - so dbt can build before the first
    refresh (outreach/raw.py). Returns True if anything was created."""
    created = J.ensure_tables(database_url)
    if not J.items_table_exists(database_url):
        pipeline = pipeline_for(database_url)
        empty = apify_linkedin_source([ITEM_SCHEMA.empty_table()], new_dataset=True)
        with load_lock(database_url, s.PIPELINE_NAME):
            pipeline.run(empty, loader_file_format="csv")
        J.ensure_item_indexes(database_url)
        created = True
    return created


@dataclass
class _Endpoint:
    base_url: str
    token: str
    server: Any = None  # an in-process test server we started (stopped afterwards)


def _endpoint(database_url: str, progress: Progress) -> _Endpoint:
    settings = load_settings()
    if not settings.test_mode:
        if not settings.apify_token:
            raise ApifyConfigError(
                "APIFY_TOKEN is not set (or set OUTREACH_TEST_MODE=true for the local test server)"
            )
        return _Endpoint(settings.apify_base_url, settings.apify_token)
    token = settings.apify_token or s.TEST_MODE_TOKEN
    host = urlsplit(settings.apify_base_url).hostname
    if host in ("127.0.0.1", "localhost", "::1"):
        return _Endpoint(settings.apify_base_url, token)
    from testing.apify import ApifyTestServer, roster_from_warehouse

    server = ApifyTestServer(roster=roster_from_warehouse(database_url), token=token)
    base_url = server.start()
    progress(f"test mode: started the local Apify test server at {base_url}")
    return _Endpoint(base_url, token, server)


def _safe(value: Any, token: str | None) -> Any:
    """``value`` (JSON-able) with the token scrubbed from every string in it."""
    if not token:
        return value
    return orjson.loads(mask_secrets(orjson.dumps(value, default=str).decode(), (token,)))


# ---------------------------------------------------------------------------- one job
@dataclass
class _JobContext:
    database_url: str
    client: Any  # apify_client.ApifyClient
    token: str
    actor_id: str
    trigger: str
    timeout_s: float
    input_key: str
    observed_at: datetime | None
    progress: Progress
    http_timeout_s: float = s.HTTP_TIMEOUT_S
    page_size: int = s.PAGE_SIZE
    pipelines_dir: Path | None = None


def _finish(
    ctx_url: str,
    job: J.JobRef,
    *,
    token: str | None,
    status: str,
    total: int,
    completed: list[str] | int,
    skipped: list[str],
    collector: ItemCollector | None,
    error: ApifyError | None,
    metadata: dict[str, Any],
    run_id: str | None,
    dataset_id: str | None,
) -> JobOutcome:
    landed = J.items_landed(ctx_url, job.job_unique_id)
    # imports pass a count: they keep no list of the (maybe millions of) profiles
    n_completed = completed if isinstance(completed, int) else len(completed)
    received = collector.items_received if collector else 0
    metadata = {
        **metadata,
        "skipped_urls": skipped,
        "profiles_attempted": total,
        "profiles_completed": n_completed,
        "items_received": received,
        "items_landed": landed,
        "duplicate_items": collector.duplicate_items if collector else 0,
        "unparsed_items": collector.unparsed_items if collector else 0,
    }
    if error is not None:
        metadata["error_kind"] = error.kind
    message = None
    if error is not None:
        message = str(error)
    metadata = _safe(metadata, token)
    message = mask_secrets(message, (token,)) if message and token else message
    J.update_job(
        ctx_url,
        job,
        status=status,
        total_profiles=total,
        profiles_completed=n_completed,
        profiles_skipped=len(skipped),
        items_received=received,
        items_landed=landed,
        error_message=message,
        metadata=metadata,
        run_completed_at=_now(),
    )
    return JobOutcome(
        job_unique_id=job.job_unique_id,
        status=status,
        total_profiles=total,
        profiles_completed=n_completed,
        profiles_skipped=len(skipped),
        items_received=received,
        items_landed=landed,
        run_id=run_id,
        dataset_id=dataset_id,
        error_message=message,
        metadata=metadata,
        error_kind=error.kind if error else None,
    )


def _run_job(ctx: _JobContext, urls: list[str], number: int, of: int) -> JobOutcome:
    url, client = ctx.database_url, ctx.client
    started = time.monotonic()
    job = J.create_job(
        url,
        trigger=ctx.trigger,
        total_profiles=len(urls),
        actor_id=ctx.actor_id,
        metadata={"trigger": ctx.trigger, "source": "apify", "batch": f"{number}/{of}"},
    )
    ctx.progress(f"job {job.job_unique_id} ({number}/{of}): {len(urls)} profiles, pending")
    run_id = dataset_id = None
    collector: ItemCollector | None = None
    meta: dict[str, Any] = {"timeout_seconds": ctx.timeout_s}
    what = f"starting actor {ctx.actor_id}"
    try:
        run = client.actor(ctx.actor_id).start(run_input={ctx.input_key: urls})
        run_id, dataset_id = run.id, run.default_dataset_id
        J.update_job(
            url, job, status="running", run_id=run_id, dataset_id=dataset_id, run_started_at=_now()
        )
        ctx.progress(f"job {job.job_unique_id}: actor run {run_id} started, running")
        what = f"waiting for actor run {run_id}"
        run = wait_for_run(
            client,
            run_id,
            remaining_s=ctx.timeout_s - (time.monotonic() - started),
            timeout_s=ctx.timeout_s,
            http_timeout_s=ctx.http_timeout_s,
        )
        ctx.progress(f"job {job.job_unique_id}: run status {run.status}")
        meta.update(
            actor_status="SUCCEEDED",
            actor_started_at=run.started_at.isoformat(),
            actor_finished_at=run.finished_at.isoformat() if run.finished_at else None,
        )
        if run.default_dataset_id != dataset_id:
            dataset_id = run.default_dataset_id
            J.update_job(url, job, dataset_id=dataset_id)
        observed_at = ctx.observed_at or _now()
        meta["observed_at"] = observed_at.isoformat()
        collector = ItemCollector(
            job_unique_id=job.job_unique_id,
            run_id=run_id,
            dataset_id=dataset_id,
            observed_at=observed_at,
            loaded_at=_now(),
            requested={u for u in map(normalize_linkedin_url, urls) if u},
        )
        items = dataset_items(client, dataset_id, page_size=ctx.page_size)
        land(collector, items, url, pipelines_dir=ctx.pipelines_dir)
        if collector.error is not None:
            raise collector.error
        completed, skipped = collector.completed(urls)
        limited = collector.rate_limited
        error: ApifyError | None = None
        status = "completed"
        if limited is not None:
            meta.update(_rate_limit_meta(limited, J.rate_limit_streak(url) + 1, urls, completed))
            if not completed:
                status, error = "failed", limited
    except Exception as exc:
        typed = exc if isinstance(exc, ApifyError) else typed_error(client, exc, what)
        if typed is None:
            _fail_on_bug(ctx, job, urls, exc, collector, meta, started, (run_id, dataset_id))
            raise
        completed, skipped, status, error = [], list(urls), "failed", typed
        if isinstance(typed, ApifyRateLimited):
            meta.update(_rate_limit_meta(typed, J.rate_limit_streak(url) + 1, urls, []))
        if isinstance(typed, ApifyRunFailed):
            meta["actor_status"] = typed.status
    except BaseException as exc:
        _fail_on_bug(ctx, job, urls, exc, collector, meta, started, (run_id, dataset_id))
        raise
    meta["duration_seconds"] = round(time.monotonic() - started, 3)
    outcome = _finish(
        url,
        job,
        token=ctx.token,
        status=status,
        total=len(urls),
        completed=completed,
        skipped=skipped,
        collector=collector,
        error=error,
        metadata=meta,
        run_id=run_id,
        dataset_id=dataset_id,
    )
    _warn_unparsed(outcome, ctx.progress)
    ctx.progress(f"job {outcome.line()}")
    return outcome


def _fail_on_bug(
    ctx: _JobContext,
    job: J.JobRef,
    urls: list[str],
    exc: BaseException,
    collector: ItemCollector | None,
    meta: dict[str, Any],
    started: float,
    ids: tuple[str | None, str | None],
) -> None:
    """A bug or the database/dlt failing: the job must not stay "running" (the caller
    re-raises)."""
    message = f"loader error: {type(exc).__name__}: {exc}"
    if isinstance(exc, PipelineStepFailed):
        message = f"loading into {s.DATASET_NAME} failed at step {exc.step}: {exc.exception}"
    _finish(
        ctx.database_url,
        job,
        token=ctx.token,
        status="failed",
        total=len(urls),
        completed=[],
        skipped=list(urls),
        collector=collector,
        error=ApifyError(message),
        metadata={**meta, "duration_seconds": round(time.monotonic() - started, 3)},
        run_id=ids[0],
        dataset_id=ids[1],
    )


def _warn_unparsed(outcome: JobOutcome, progress: Progress) -> None:
    """Items that are no usable profile observation landed raw; say so, never silently."""
    unparsed = outcome.metadata.get("unparsed_items") or 0
    if unparsed:
        progress(
            f"warning: job {outcome.job_unique_id}: {unparsed} of "
            f"{outcome.items_received} items are not usable profile observations (no LinkedIn "
            "URL or no name); they landed in raw_apify.profile_items as given and are counted "
            "as unparsed_items"
        )


def _rate_limit_meta(
    exc: ApifyRateLimited, attempt: int, urls: list[str], completed: list[str]
) -> dict[str, Any]:
    return {
        "rate_limit_hit": True,
        "retry_attempt": attempt,
        "retry_after_seconds": J.retry_after_for(attempt),
        "retry_schedule_seconds": list(s.RATE_LIMIT_RETRY_SCHEDULE_S),
        "rate_limit_attempts": exc.attempts,
        "profiles_attempted": len(urls),
        "profiles_completed": len(completed),
        "profiles_rate_limited": len(urls) - len(completed),
    }


# ---------------------------------------------------------------------------- refresh
def _failed_jobs(result: RefreshResult) -> str | None:
    """A refresh with failed jobs is a failed pipeline event (outreach/events.py)."""
    failed = [j for j in result.jobs if j.status == "failed"]
    return (
        "; ".join(f"{j.job_unique_id}: {j.error_message or j.error_kind}" for j in failed) or None
    )


@recorded("load.apify_linkedin", failure=_failed_jobs)
def refresh_profiles(
    *,
    all_profiles: bool = False,
    max_profiles: int = s.DEFAULT_MAX_PROFILES,
    actor_id: str = s.DEFAULT_ACTOR_ID,
    timeout_s: float = s.DEFAULT_TIMEOUT_S,
    database_url: str | None = None,
    progress: Progress = print,
    trigger: str = s.TRIGGER_MANUAL,
    urls: Sequence[str] | None = None,
    observed_at: datetime | None = None,
    input_key: str = s.DEFAULT_INPUT_KEY,
    max_retries: int = s.MAX_RETRIES,
    min_retry_delay_s: float = s.MIN_RETRY_DELAY_S,
    http_timeout_s: float = s.HTTP_TIMEOUT_S,
    page_size: int = s.PAGE_SIZE,
    pipelines_dir: Path | None = None,
) -> RefreshResult:
    """Refresh the LinkedIn profiles that are due through the Apify actor.

    ``trigger`` is manual, scheduled or retry; scheduled and retry runs are skipped (no
    job, ``skipped_reason`` set) while the circuit breaker is open. ``urls`` refreshes
    exactly those profiles instead of the queue. ``observed_at`` stamps the observations
    (and moves "now" for the 30-day queue): the demo uses it to simulate a later month.
    ``max_retries`` / ``min_retry_delay_s`` / ``http_timeout_s`` configure the official
    client's retries and timeouts; ``page_size`` is the ``limit`` asked per dataset page.
    Raises ApifyConfigError when the loader cannot start at all (no token).
    """
    started = time.monotonic()
    if trigger not in (s.TRIGGER_MANUAL, s.TRIGGER_SCHEDULED, s.TRIGGER_RETRY):
        raise ApifyConfigError(f"trigger must be manual, scheduled or retry, not {trigger!r}")
    if max_profiles < 1:
        raise ApifyConfigError("max_profiles must be at least 1")
    url = database_url or _warehouse_url()
    J.ensure_tables(url)
    result = RefreshResult()
    if trigger != s.TRIGGER_MANUAL:
        is_open, reason = circuit_breaker_state(url)
        if is_open:
            result.skipped_reason = f"circuit breaker {reason}"
            progress(f"refresh skipped: {result.skipped_reason}")
            return result

    if urls is not None:
        due = list(dict.fromkeys(u for u in urls if u))
        result.tracked_source, result.tracked_profiles = "explicit", len(due)
    else:
        result.tracked_source, tracked = J.tracked_profiles(url)
        result.tracked_profiles = len(tracked)
        due = J.due_profiles(url, all_profiles=all_profiles, as_of=observed_at)
    result.profiles_due = len(due)
    progress(
        f"{result.tracked_profiles} tracked profiles ({result.tracked_source or 'no people yet'}), "
        f"{len(due)} due" + (" (--all)" if all_profiles else "")
    )
    if not due:
        result.seconds = time.monotonic() - started
        return result

    endpoint = _endpoint(url, progress)
    client = make_client(
        endpoint.base_url,
        endpoint.token,
        max_retries=max_retries,
        min_retry_delay_s=min_retry_delay_s,
        http_timeout_s=http_timeout_s,
    )
    ctx = _JobContext(
        database_url=url,
        client=client,
        token=endpoint.token,
        actor_id=actor_id,
        trigger=trigger,
        timeout_s=timeout_s,
        input_key=input_key,
        observed_at=observed_at,
        progress=progress,
        http_timeout_s=http_timeout_s,
        page_size=page_size,
        pipelines_dir=pipelines_dir,
    )
    batches = [due[i : i + max_profiles] for i in range(0, len(due), max_profiles)]
    try:
        for number, batch in enumerate(batches, start=1):
            outcome = _run_job(ctx, batch, number, len(batches))
            result.jobs.append(outcome)
            if outcome.rate_limited or outcome.error_kind in _STOP_KINDS:
                result.profiles_deferred = sum(len(b) for b in batches[number:])
                if result.profiles_deferred:
                    progress(
                        f"stopping: {result.profiles_deferred} due profiles deferred "
                        f"({outcome.error_kind or 'rate limited'}); they stay in the queue"
                    )
                break
    finally:
        client.http_client.close()
        if endpoint.server is not None:
            endpoint.server.stop()
    result.seconds = time.monotonic() - started
    return result


# ---------------------------------------------------------------------------- import
def _counted(items: Iterable[Any], progress: Progress, every: int, what: str) -> Iterator[Any]:
    """``items`` unchanged, with a progress line every ``every`` items (0: none)."""
    for count, item in enumerate(items, start=1):
        yield item
        if every and count % every == 0:
            progress(f"  {what}: {count:,} items")


def _parse_observed_at(value: datetime | str | None) -> datetime:
    if value is None:
        return _now()
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ApifyConfigError(
                f"--observed-at {value!r} is not an ISO-8601 date or timestamp"
            ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@recorded("load.apify_linkedin", failure=_failed_jobs)
def import_dataset(
    path: str | Path,
    *,
    observed_at: datetime | str | None = None,
    database_url: str | None = None,
    progress: Progress = print,
    pipelines_dir: Path | None = None,
    progress_every: int = s.IMPORT_PROGRESS_ITEMS,
    batch_rows: int = s.ARROW_BATCH_ROWS,
) -> RefreshResult:
    """Land an exported Apify dataset (JSON array, ``{"items": [...]}`` or JSON Lines) as
    its own job, exactly as a live run would. The dataset id is a fingerprint of the items,
    so importing the same data again lands nothing new. Raises ApifyConfigError for a
    missing file or bad ``observed_at``; a malformed or empty file ends the job ``failed``
    and lands nothing.

    The file is streamed (loaders/apify_linkedin/files.py), twice: a first pass computes the
    fingerprint and proves the whole file parses, the second lands it in arrow batches of
    ``batch_rows`` items; peak memory does not grow with the file. Both passes print a
    progress line every ``progress_every`` items."""
    started = time.monotonic()
    path = Path(path)
    if not path.is_file():
        raise ApifyConfigError(f"no such dataset file: {path}")
    when = _parse_observed_at(observed_at)
    url = database_url or _warehouse_url()
    J.ensure_tables(url)
    job = J.create_job(
        url,
        trigger=s.TRIGGER_IMPORT,
        total_profiles=0,
        actor_id=None,
        metadata={"trigger": s.TRIGGER_IMPORT, "source": "file", "source_file": path.name},
    )
    progress(f"job {job.job_unique_id}: importing {path.name}, observed at {when.isoformat()}")
    J.update_job(url, job, status="running", run_started_at=_now())
    collector: ItemCollector | None = None
    dataset_id: str | None = None
    meta: dict[str, Any] = {"observed_at": when.isoformat()}
    try:
        dataset = open_dataset(path)
        progress(f"reading {path.name} ({dataset.shape}, {path.stat().st_size:,} bytes)")
        read = _counted(dataset.items(), progress, progress_every, "checked")
        dataset_id = f"file-{dataset_fingerprint(read)[:24]}"
        J.update_job(url, job, dataset_id=dataset_id)
        collector = ItemCollector(
            job_unique_id=job.job_unique_id,
            run_id=None,
            dataset_id=dataset_id,
            observed_at=when,
            loaded_at=_now(),
            batch_rows=batch_rows,
        )
        items = _counted(dataset.items(), progress, progress_every, "landing")
        land(collector, items, url, pipelines_dir=pipelines_dir)
        if collector.error is not None:
            raise collector.error
        status, error, completed, skipped = "completed", None, collector.profiles_count, []
    except (MalformedDataset, EmptyDataset) as exc:
        status, error, completed, skipped = "failed", exc, 0, []
    except BaseException as exc:
        _finish(
            url,
            job,
            token=None,
            status="failed",
            total=0,
            completed=[],
            skipped=[],
            collector=collector,
            error=ApifyError(f"loader error: {type(exc).__name__}: {exc}"),
            metadata=meta,
            run_id=None,
            dataset_id=dataset_id,
        )
        raise
    meta["duration_seconds"] = round(time.monotonic() - started, 3)
    outcome = _finish(
        url,
        job,
        token=load_settings().apify_token,
        status=status,
        total=completed,
        completed=completed,
        skipped=skipped,
        collector=collector,
        error=error,
        metadata=meta,
        run_id=None,
        dataset_id=dataset_id,
    )
    _warn_unparsed(outcome, progress)
    progress(f"job {outcome.line()}")
    return RefreshResult(
        jobs=[outcome],
        tracked_source="file",
        profiles_due=outcome.total_profiles,
        seconds=time.monotonic() - started,
    )


def _warehouse_url() -> str:
    from outreach.warehouse import database_url

    return database_url()


# ---------------------------------------------------------------------------- CLI
def _print_now(message: str) -> None:
    """A progress line, flushed: it shows when written even with stdout piped to a log."""
    print(message, flush=True)


def run_cli(
    *,
    from_file: str | Path | None = None,
    observed_at: str | None = None,
    all_profiles: bool = False,
    max_profiles: int = s.DEFAULT_MAX_PROFILES,
    actor_id: str = s.DEFAULT_ACTOR_ID,
    timeout_s: float = s.DEFAULT_TIMEOUT_S,
    progress: Progress = _print_now,
    as_json: bool = False,
    report: Callable[[RefreshResult], Any] | None = None,
) -> int:
    """``outreach load apify-linkedin [--from-file F [--observed-at T]] [--all] ...``:
    a manual refresh (or an import), a printed summary (``as_json``: the summary as JSON
    on stdout, while ``progress`` should write to stderr); exit 0 when every job
    completed, 1 when one failed, 2 when nothing could start (no token, missing file).
    ``report(result)`` runs once the jobs ended (the CLI reports them to Dagster there)."""
    import sys

    try:
        if from_file is not None:
            result = import_dataset(from_file, observed_at=observed_at, progress=progress)
        else:
            if observed_at is not None:
                raise ApifyConfigError("--observed-at only applies to --from-file imports")
            result = refresh_profiles(
                all_profiles=all_profiles,
                max_profiles=max_profiles,
                actor_id=actor_id,
                timeout_s=timeout_s,
                progress=progress,
                trigger=s.TRIGGER_MANUAL,
            )
    except ApifyConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if report is not None:
        report(result)
    if as_json:
        import json

        print(json.dumps(result.as_dict(), indent=2, default=str), flush=True)
    else:
        progress(result.render())
    return 0 if result.ok else 1
