"""Front door of the MillionVerifier loader: ``verify_emails`` (``outreach load millionverifier``).

A run takes the emails due (``people.due_email_recheck_30d``), a file's or a list's, and
verifies them: single checks with at most ``concurrency`` requests in flight or, above
``bulk_threshold`` addresses, one bulk file. Answers land in ``raw_verifier.email_checks``
every ``land_batch`` answers; the run is a row of ``raw_verifier.verification_runs``. A
landed answer is what takes an email off the queue: nothing is updated by hand.

Credits running out (preflight ``/api/v3/credits``, an HTTP 200 "Insufficient credits"
answer or one reporting 0 left) ends the run ``credits_exhausted`` with what was answered
landed; a rejected key or a failed bulk file ends it ``failed``; emails without an answer
after every retry stay due (``partial``). ``OUTREACH_TEST_MODE=true`` talks to the local
test-mode server. The API key is never printed, logged, raised or stored.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dlt
import psycopg
from dlt.pipeline.exceptions import PipelineStepFailed

from loaders.millionverifier import JSON_TEXT_RESOURCES, answers_table, millionverifier_source
from loaders.millionverifier import helpers as h
from loaders.millionverifier import settings as s
from loaders.millionverifier.helpers import VerifierConfigError, VerifierError
from outreach.dlt_pipelines import load_lock, warehouse_pipeline
from outreach.events import recorded
from outreach.settings import load_settings
from outreach.tombstones import read_tombstones
from outreach.tombstones import sha256 as tombstones_sha256

__all__ = [
    "VerificationSummary",
    "VerifierConfigError",
    "VerifierError",
    "due_emails",
    "ensure_raw_tables",
    "read_emails_file",
    "verifier_pipeline",
    "verify_emails",
]

Progress = Callable[[str], Any]
RUNS = f"{s.DATASET_NAME}.{s.RUNS_TABLE}"
RUNS_DDL = f"""
create schema if not exists {s.DATASET_NAME};
create table if not exists {RUNS} (
    run_id text primary key, started_at timestamptz not null, finished_at timestamptz,
    status text not null, method text, emails_source text,
    emails_requested bigint not null default 0, emails_answered bigint not null default 0,
    emails_unanswered bigint not null default 0, emails_not_attempted bigint not null default 0,
    concurrency bigint, credits_left bigint, bulk_file_id text, error_message text,
    metadata jsonb not null default '{{}}'::jsonb, updated_at timestamptz not null
)
"""
RECORD_RUN = f"""
insert into {RUNS} (run_id, started_at, finished_at, status, method, emails_source,
    emails_requested, emails_answered, emails_unanswered, emails_not_attempted, concurrency,
    credits_left, bulk_file_id, error_message, metadata, updated_at)
values (%(run_id)s, %(started_at)s, %(finished_at)s, %(status)s, %(method)s, %(emails_source)s,
    %(requested)s, %(answered)s, %(unanswered_total)s, %(not_attempted)s, %(concurrency)s,
    %(credits_left)s, %(bulk_file_id)s, %(message)s, %(metadata)s, now())
on conflict (run_id) do update set
    finished_at = excluded.finished_at, status = excluded.status, method = excluded.method,
    emails_requested = excluded.emails_requested, emails_answered = excluded.emails_answered,
    emails_unanswered = excluded.emails_unanswered,
    emails_not_attempted = excluded.emails_not_attempted, credits_left = excluded.credits_left,
    bulk_file_id = excluded.bulk_file_id, error_message = excluded.error_message,
    metadata = excluded.metadata, updated_at = now()
"""
DUE_QUEUE = "people.due_email_recheck_30d"


@dataclass
class VerificationSummary:
    """What one verification run did."""

    run_id: str
    status: str = s.RUN_RUNNING
    method: str = "single"
    emails_source: str = "queue"
    requested: int = 0
    answered: int = 0
    by_result: dict[str, int] = field(default_factory=dict)
    unanswered: dict[str, int] = field(default_factory=dict)  # reason -> emails
    not_attempted: int = 0
    credits_left: int | None = None
    concurrency: int = s.DEFAULT_CONCURRENCY
    bulk_file_id: str | None = None
    message: str | None = None  # why the run stopped early (key-free)
    seconds: float = 0.0
    verify_seconds: float = 0.0  # time spent talking to the API
    http: dict[str, Any] = field(default_factory=dict)  # requests, http_429, http_5xx

    @property
    def emails_per_second(self) -> float:
        return self.answered / self.verify_seconds if self.verify_seconds > 0 else 0.0

    @property
    def unanswered_total(self) -> int:
        return sum(self.unanswered.values())

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "emails_per_second": round(self.emails_per_second, 1)}

    def render(self) -> str:
        how = f"single checks, {self.concurrency} in flight"
        how = f"bulk file {self.bulk_file_id}" if self.method == "bulk" else how
        rate = f" ({self.emails_per_second:.1f}/s)" if self.answered else ""
        lines = [
            f"MillionVerifier run {self.run_id}: {self.status} ({how}, {self.seconds:.2f} s)",
            f"  emails requested {self.requested}, answered {self.answered}{rate}",
        ]
        for label, counts in (("results", self.by_result), ("no answer", self.unanswered)):
            if counts:
                listed = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                lines.append(f"  {label}: {listed}" + (" (stay due)" if label != "results" else ""))
        if self.not_attempted:
            lines.append(f"  not sent after the stop (stay due): {self.not_attempted}")
        if self.credits_left is not None:
            lines.append(f"  credits left: {self.credits_left}")
        return "\n".join(lines + ([f"  {self.message}"] if self.message else []))


# ---------------------------------------------------------------------------- warehouse
def verifier_pipeline(database_url: str, pipelines_dir: Path | None = None) -> dlt.Pipeline:
    """The verifier's dlt pipeline for this database (working dir keyed by the database)."""
    return warehouse_pipeline(
        database_url,
        s.PIPELINE_NAME,
        s.DATASET_NAME,
        pipelines_dir,
        json_text_resources=JSON_TEXT_RESOURCES,
    )


def ensure_raw_tables(database_url: str, pipelines_dir: Path | None = None) -> bool:
    """Create the empty raw_verifier tables if missing (``email_checks`` through dlt,
    ``verification_runs`` by DDL); True if anything was created."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        sql = "select table_name from information_schema.tables where table_schema = %s"
        present = {r[0] for r in conn.execute(sql, (s.DATASET_NAME,))}
        if s.RUNS_TABLE not in present:
            conn.execute("select pg_advisory_lock(hashtext('outreach raw_verifier ddl'))")
            try:
                conn.execute(RUNS_DDL)
            finally:
                conn.execute("select pg_advisory_unlock(hashtext('outreach raw_verifier ddl'))")
    if s.CHECKS_TABLE not in present:
        with load_lock(database_url, s.PIPELINE_NAME, pipelines_dir):
            verifier_pipeline(database_url, pipelines_dir).run(millionverifier_source())
    return not {s.RUNS_TABLE, s.CHECKS_TABLE} <= present


def _record_run(database_url: str, summary: VerificationSummary, started_at: datetime) -> None:
    done = summary.status != s.RUN_RUNNING
    values = {**summary.as_dict(), "unanswered_total": summary.unanswered_total,
              "started_at": started_at, "finished_at": datetime.now(UTC) if done else None}  # fmt: skip
    metadata = ("by_result", "unanswered", "http", "emails_per_second", "verify_seconds")
    values["metadata"] = json.dumps({k: values[k] for k in metadata})
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(RECORD_RUN, values)


def due_emails(database_url: str, limit: int | None = None) -> list[str]:
    """Addresses in people.due_email_recheck_30d: never checked first, then the stalest."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.execute("select to_regclass(%s)", (DUE_QUEUE,)).fetchone()[0] is None:
            raise VerifierConfigError(
                f"{DUE_QUEUE} does not exist yet: build the marts first (`outreach dbt build`), "
                "or give the addresses with --emails FILE"
            )
        rows = conn.execute(
            f"select email from {DUE_QUEUE} where email is not null "
            "order by last_checked_at nulls first, contact_id limit %s",
            (limit,),
        ).fetchall()
    return [r[0] for r in rows]


def read_emails_file(path: Path) -> list[str]:
    """Addresses from a file: one per line, or a CSV whose header has an ``email`` column."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise VerifierConfigError(f"{path}: file not found; expected one email per line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VerifierConfigError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    lines = [line for line in text.splitlines() if line.strip()]
    header = [c.strip().lower() for c in next(csv.reader(lines[:1]), [])]
    if "email" not in header:
        return [line.strip() for line in lines]
    at = header.index("email")
    return [r[at] for r in csv.reader(lines[1:]) if len(r) > at and r[at].strip()]


def _endpoint(
    progress: Progress, base_url: str | None, api_key: str | None
) -> tuple[str, str, Any]:
    """(base URL, key, test server we started or None)."""
    settings = load_settings()
    key = api_key or settings.millionverifier_api_key
    if base_url is not None:  # an explicit endpoint (the demo's test server, tests)
        return base_url, key or s.TEST_MODE_API_KEY, None
    if not settings.test_mode:
        if not key:
            raise VerifierConfigError(
                "MILLIONVERIFIER_API_KEY is not set (or set "
                "OUTREACH_TEST_MODE=true for the local test server)"
            )
        return settings.millionverifier_base_url, key, None
    key = key or s.TEST_MODE_API_KEY
    if urlsplit(settings.millionverifier_base_url).hostname in ("127.0.0.1", "localhost", "::1"):
        return settings.millionverifier_base_url, key, None
    from testing.millionverifier import MillionVerifierTestServer

    server = MillionVerifierTestServer(api_key=key)
    progress(f"test mode: started the local MillionVerifier test server at {server.start()}")
    return server.base_url, key, server


def _land(
    database_url: str, answers: list[dict], run_id: str, key: str, pipelines_dir: Path | None
) -> None:
    if not answers:
        return
    with load_lock(database_url, s.PIPELINE_NAME, pipelines_dir):
        _land_locked(database_url, answers, run_id, key, pipelines_dir)


def _land_locked(
    database_url: str, answers: list[dict], run_id: str, key: str, pipelines_dir: Path | None
) -> None:
    pipeline = verifier_pipeline(database_url, pipelines_dir)
    if pipeline.has_pending_data:
        pipeline.abort_packages()
    try:
        pipeline.run(millionverifier_source([answers_table(answers, run_id, (key,))]))
    except PipelineStepFailed as exc:
        raise VerifierError(
            h.mask_api_keys(
                f"landing {len(answers)} answers in {s.DATASET_NAME} failed "
                f"at step {exc.step}: {exc.exception}",
                (key,),
            )
        ) from None


# ---------------------------------------------------------------------------- the run
def _failed_run(summary: VerificationSummary) -> str | None:
    """A run that stopped as failed is a failed pipeline event (outreach/events.py)."""
    if summary.status == s.RUN_FAILED:
        return f"verification run {summary.run_id} failed: {summary.message or 'no reason given'}"
    return None


@recorded("load.millionverifier", failure=_failed_run)
def verify_emails(
    emails: Iterable[str] | None = None,
    *,
    emails_file: Path | None = None,
    database_url: str | None = None,
    concurrency: int = s.DEFAULT_CONCURRENCY,
    api_timeout_s: int = s.API_TIMEOUT_S,
    http_timeout_s: float | None = None,
    bulk_threshold: int = s.BULK_THRESHOLD,
    bulk_poll_interval_s: float = s.BULK_POLL_INTERVAL_S,
    bulk_timeout_s: float = s.BULK_TIMEOUT_S,
    land_batch: int = s.LAND_BATCH,
    max_emails: int | None = None,
    retry: dict[str, Any] | None = None,
    progress: Progress = print,
    pipelines_dir: Path | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
) -> VerificationSummary:
    """Verify emails and land the answers in raw_verifier; returns what the run did.

    Addresses come from ``emails``, else ``emails_file``, else the due queue, at most
    ``max_emails``. ``retry`` overrides dlt's client retry settings
    (``request_max_attempts``, ``request_backoff_factor``, ``request_max_retry_delay``).
    Vendor trouble never raises: ``status`` and ``message`` say how the run ended. Raises
    ``VerifierConfigError`` when the run cannot start (no key, no queue, bad file).
    """
    from outreach.warehouse import database_url as warehouse_url

    started, started_at = time.perf_counter(), datetime.now(UTC)
    if concurrency < 1:
        raise VerifierConfigError(f"concurrency must be at least 1, got {concurrency}")
    url = database_url or warehouse_url()
    base, key, server = _endpoint(progress, base_url, api_key)
    try:
        if emails is not None:
            source, wanted = "list", emails
        elif emails_file is not None:
            source, wanted = "file", read_emails_file(Path(emails_file))
        else:
            source, wanted = "queue", due_emails(url)
        wanted = list(dict.fromkeys(e for e in map(h.normalize_email, wanted) if e))
        erased = read_tombstones(url)  # GDPR-erased people are never sent to the vendor
        kept = [e for e in wanted if tombstones_sha256(e) not in erased]
        if len(kept) < len(wanted):
            progress(f"skipped {len(wanted) - len(kept)} GDPR-erased address(es)")
        wanted = kept[:max_emails] if max_emails is not None else kept
        summary = VerificationSummary(
            run_id=f"mv-{started_at:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}",
            emails_source=source,
            requested=len(wanted),
            concurrency=concurrency,
            method="bulk" if len(wanted) > bulk_threshold else "single",
        )
        ensure_raw_tables(url, pipelines_dir)
        _record_run(url, summary, started_at)
        api_timeout_s = max(2, min(60, int(api_timeout_s)))
        stats: Counter = Counter()
        read_timeout_s = http_timeout_s or api_timeout_s + s.HTTP_TIMEOUT_MARGIN_S
        client = h.http_client(base, concurrency, read_timeout_s, stats, **(retry or {}))
        api = h.Api(client, base, key)

        by_result: Counter = Counter()

        def land(answers: list[dict]) -> None:
            _land(url, answers, summary.run_id, key, pipelines_dir)
            summary.answered += len(answers)
            by_result.update(a["result"] or "none" for a in answers)
            if left := [a["credits"] for a in answers if a["credits"] is not None]:
                summary.credits_left = min(left)

        try:
            bulk = {"poll_interval_s": bulk_poll_interval_s, "timeout_s": bulk_timeout_s}
            _run(api, wanted, summary, land, progress, api_timeout_s, max(1, land_batch), bulk)
            summary.by_result = dict(by_result)
        except VerifierError as exc:  # e.g. landing failed: record the run, then raise
            summary.status, summary.message = s.RUN_FAILED, h.mask_api_keys(exc, (key,))
            raise
        finally:
            summary.seconds = time.perf_counter() - started
            summary.http = dict(stats)
            _record_run(url, summary, started_at)
        return summary
    finally:
        if server is not None:
            server.stop()


def _run(api: h.Api, wanted: list[str], summary: VerificationSummary,
         land: Callable[[list[dict]], None], progress: Progress, api_timeout_s: int,
         land_batch: int, bulk: dict[str, float]) -> None:  # fmt: skip
    if not wanted:
        summary.status = s.RUN_COMPLETED
        progress("no emails to verify (the queue is empty)")
        return
    try:
        credits = api.credits_left()
    except h.AuthError as exc:
        summary.status, summary.message, summary.not_attempted = s.RUN_FAILED, str(exc), len(wanted)
        progress(f"stopped: {exc}")
        return
    except VerifierError as exc:  # the credits endpoint itself is down: try the checks anyway
        credits = None
        progress(f"could not read the credits left ({exc}); verifying anyway")
    summary.credits_left = credits
    if credits is not None and credits <= 0:
        summary.status, summary.not_attempted = s.RUN_CREDITS_EXHAUSTED, len(wanted)
        summary.message = _credits_message(summary)
        progress(f"stopped: {summary.message}")
        return
    if credits is not None and credits < len(wanted):
        progress(
            f"note: {credits} credits left for {len(wanted)} emails; "
            "the run stops when they run out"
        )
    where = urlsplit(api.base_url).netloc or api.base_url
    unanswered: Counter = Counter()
    stopped: VerifierError | None = None
    t = time.perf_counter()
    if summary.method == "bulk":
        progress(f"verifying {len(wanted)} emails through the bulk file API at {where}")
        outcome = h.verify_bulk(api, wanted, progress=progress, **bulk)
        summary.verify_seconds += time.perf_counter() - t
        summary.bulk_file_id, stopped = outcome.bulk_file_id, outcome.stopped
        for i in range(0, len(outcome.answers), land_batch):
            land(outcome.answers[i : i + land_batch])
        unanswered.update(outcome.unanswered.values())
        summary.not_attempted = len(outcome.not_attempted)
        if outcome.answers and stopped is None and credits is not None:
            summary.credits_left = max(0, credits - len(wanted))
    else:
        progress(
            f"verifying {len(wanted)} emails at {where} ({summary.concurrency} in flight, "
            f"landing every {land_batch})"
        )
        for start in range(0, len(wanted), land_batch):
            t = time.perf_counter()
            chunk = wanted[start : start + land_batch]
            outcome = h.verify_many(
                api, chunk, concurrency=summary.concurrency, api_timeout_s=api_timeout_s
            )
            summary.verify_seconds += time.perf_counter() - t
            land(outcome.answers)
            unanswered.update(outcome.unanswered.values())
            if (stopped := outcome.stopped) is not None:
                summary.not_attempted = (
                    len(outcome.not_attempted) + len(wanted) - start - len(chunk)
                )
                break
            progress(f"{summary.answered} of {len(wanted)} answered")
    summary.unanswered = dict(unanswered)
    if isinstance(stopped, h.CreditsExhausted):
        summary.status, summary.credits_left = s.RUN_CREDITS_EXHAUSTED, 0
        summary.message = _credits_message(summary)
    elif stopped is not None:
        summary.status, summary.message = s.RUN_FAILED, h.mask_api_keys(stopped, (api.key,))
    elif unanswered:
        summary.status = s.RUN_PARTIAL
        summary.message = (
            f"{sum(unanswered.values())} emails got no answer after every retry; "
            "they stay in people.due_email_recheck_30d"
        )
    else:
        summary.status = s.RUN_COMPLETED
    if summary.message:
        progress(f"stopped: {summary.message}" if stopped else summary.message)


def _credits_message(summary: VerificationSummary) -> str:
    left = summary.requested - summary.answered
    return (
        f"MillionVerifier credits ran out: {summary.answered} of {summary.requested} emails "
        f"verified, {left} not verified (they stay in people.due_email_recheck_30d). "
        "Add credits to the MillionVerifier account and run again."
    )
