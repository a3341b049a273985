"""Front door of the MillionVerifier loader: ``verify_emails`` (``outreach load millionverifier``).

A run takes the emails due for a check (``people.due_email_recheck_30d``: contacts whose
email was never checked or not in the last 30 days) or the addresses of a file, and
verifies them: single checks with at most ``concurrency`` requests in flight, or, above
``bulk_threshold`` addresses, one bulk file (upload, poll, download). Answers land in
``raw_verifier.email_checks`` (dlt) in batches of ``land_batch`` as they arrive, each with
the time it arrived; the run itself is a row of ``raw_verifier.verification_runs``.
A landed answer is what takes an email off the queue: nothing is updated by hand.

Stops: credits running out (preflight ``/api/v3/credits`` or an HTTP 200
"Insufficient credits" answer) ends the run ``credits_exhausted`` with what was answered
so far landed; a rejected key or a failed bulk file ends it ``failed``. Emails whose
retries ran out are left unanswered (status ``partial``) and stay due.

``OUTREACH_TEST_MODE=true`` talks to the local test-mode server: the one at
``MILLIONVERIFIER_BASE_URL`` when that is a loopback address, else one started for the call.
The API key is never printed, logged, raised or stored.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dlt
import psycopg
from dlt.pipeline.exceptions import PipelineStepFailed

from loaders.millionverifier import answers_table, millionverifier_source
from loaders.millionverifier import settings as s
from loaders.millionverifier.helpers import (
    Answer,
    AuthError,
    CreditsExhausted,
    MillionVerifierClient,
    RetryPolicy,
    VerifierConfigError,
    VerifierError,
    normalize_email,
    redact,
)
from outreach.dlt_pipelines import warehouse_pipeline
from outreach.events import recorded
from outreach.settings import load_settings
from outreach.tombstones import read_tombstones
from outreach.tombstones import sha256 as tombstones_sha256

__all__ = [
    "VerificationSummary",
    "VerifierConfigError",
    "VerifierError",
    "ensure_raw_tables",
    "read_emails_file",
    "due_emails",
    "verify_emails",
    "verifier_pipeline",
]

Progress = Callable[[str], Any]

RUNS = f"{s.DATASET_NAME}.{s.RUNS_TABLE}"
RUNS_DDL = f"""
create schema if not exists {s.DATASET_NAME};
create table if not exists {RUNS} (
    run_id text primary key,
    started_at timestamptz not null,
    finished_at timestamptz,
    status text not null,
    method text,
    emails_source text,
    emails_requested bigint not null default 0,
    emails_answered bigint not null default 0,
    emails_unanswered bigint not null default 0,
    emails_not_attempted bigint not null default 0,
    concurrency bigint,
    credits_left bigint,
    bulk_file_id text,
    error_message text,
    metadata jsonb not null default '{{}}'::jsonb,
    updated_at timestamptz not null
)
"""
DUE_QUEUE = "people.due_email_recheck_30d"


# ---------------------------------------------------------------------------- summary
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
    http: dict[str, Any] = field(default_factory=dict)

    @property
    def emails_per_second(self) -> float:
        return self.answered / self.verify_seconds if self.verify_seconds > 0 else 0.0

    @property
    def unanswered_total(self) -> int:
        return sum(self.unanswered.values())

    @property
    def not_verified(self) -> int:
        return self.requested - self.answered

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "method": self.method,
            "emails_source": self.emails_source,
            "requested": self.requested,
            "answered": self.answered,
            "by_result": dict(sorted(self.by_result.items())),
            "unanswered": dict(sorted(self.unanswered.items())),
            "not_attempted": self.not_attempted,
            "credits_left": self.credits_left,
            "concurrency": self.concurrency,
            "bulk_file_id": self.bulk_file_id,
            "message": self.message,
            "seconds": round(self.seconds, 3),
            "verify_seconds": round(self.verify_seconds, 3),
            "emails_per_second": round(self.emails_per_second, 1),
            "http": self.http,
        }

    def render(self) -> str:
        how = (
            f"bulk file {self.bulk_file_id}"
            if self.method == "bulk"
            else f"single checks, {self.concurrency} in flight"
        )
        lines = [
            f"MillionVerifier run {self.run_id}: {self.status} ({how}, {self.seconds:.2f} s)",
            f"  emails requested {self.requested}, answered {self.answered}"
            + (f" ({self.emails_per_second:.1f}/s)" if self.answered else ""),
        ]
        if self.by_result:
            lines.append(
                "  results: " + ", ".join(f"{k} {v}" for k, v in sorted(self.by_result.items()))
            )
        if self.unanswered:
            lines.append(
                "  no answer (stay due): "
                + ", ".join(f"{k} {v}" for k, v in sorted(self.unanswered.items()))
            )
        if self.not_attempted:
            lines.append(f"  not sent after the stop (stay due): {self.not_attempted}")
        if self.credits_left is not None:
            lines.append(f"  credits left: {self.credits_left}")
        if self.message:
            lines.append(f"  {self.message}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------- warehouse
def verifier_pipeline(database_url: str, pipelines_dir: Path | None = None) -> dlt.Pipeline:
    """The verifier's dlt pipeline for this database (working dir keyed by the database)."""
    return warehouse_pipeline(database_url, s.PIPELINE_NAME, s.DATASET_NAME, pipelines_dir)


def _tables_present(database_url: str) -> set[str]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        return {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (s.DATASET_NAME,),
            )
        }


def ensure_raw_tables(database_url: str, pipelines_dir: Path | None = None) -> bool:
    """Create the (empty) raw_verifier tables if missing: ``email_checks`` through the dlt
    pipeline a load uses, ``verification_runs`` by DDL. True if anything was created."""
    present = _tables_present(database_url)
    created = False
    if s.RUNS_TABLE not in present:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("select pg_advisory_lock(hashtext('outreach raw_verifier ddl'))")
            try:
                conn.execute(RUNS_DDL)
            finally:
                conn.execute("select pg_advisory_unlock(hashtext('outreach raw_verifier ddl'))")
        created = True
    if s.CHECKS_TABLE not in present:
        verifier_pipeline(database_url, pipelines_dir).run(millionverifier_source())
        created = True
    return created


def _record_run(database_url: str, summary: VerificationSummary, started_at: datetime) -> None:
    finished = summary.status != s.RUN_RUNNING
    metadata = {
        "by_result": summary.by_result,
        "unanswered": summary.unanswered,
        "http": summary.http,
        "emails_per_second": round(summary.emails_per_second, 2),
        "verify_seconds": round(summary.verify_seconds, 3),
    }
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            f"""
            insert into {RUNS} (
                run_id, started_at, finished_at, status, method, emails_source,
                emails_requested, emails_answered, emails_unanswered, emails_not_attempted,
                concurrency, credits_left, bulk_file_id, error_message, metadata, updated_at
            ) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now())
            on conflict (run_id) do update set
                finished_at = excluded.finished_at, status = excluded.status,
                method = excluded.method, emails_requested = excluded.emails_requested,
                emails_answered = excluded.emails_answered,
                emails_unanswered = excluded.emails_unanswered,
                emails_not_attempted = excluded.emails_not_attempted,
                credits_left = excluded.credits_left, bulk_file_id = excluded.bulk_file_id,
                error_message = excluded.error_message, metadata = excluded.metadata,
                updated_at = now()
            """,
            (
                summary.run_id,
                started_at,
                datetime.now(UTC) if finished else None,
                summary.status,
                summary.method,
                summary.emails_source,
                summary.requested,
                summary.answered,
                summary.unanswered_total,
                summary.not_attempted,
                summary.concurrency,
                summary.credits_left,
                summary.bulk_file_id,
                summary.message,
                json.dumps(metadata, default=str),
            ),
        )


def due_emails(database_url: str, limit: int | None = None) -> list[str]:
    """Addresses in people.due_email_recheck_30d: never checked first, then the stalest."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        exists = conn.execute("select to_regclass(%s)", (DUE_QUEUE,)).fetchone()[0]
        if exists is None:
            raise VerifierConfigError(
                f"{DUE_QUEUE} does not exist yet: build the marts first (`outreach dbt build`), "
                "or give the addresses with --emails FILE"
            )
        rows = conn.execute(
            f"""
            select email from {DUE_QUEUE}
            where email is not null
            order by last_checked_at nulls first, contact_id
            """
            + (" limit %s" if limit else ""),
            (limit,) if limit else None,
        ).fetchall()
    return [r[0] for r in rows]


def read_emails_file(path: Path) -> list[str]:
    """Addresses from a file: one per line, or a CSV whose header has an ``email`` column."""
    import csv

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise VerifierConfigError(f"{path}: file not found; expected one email per line") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise VerifierConfigError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    header = [c.strip().lower() for c in next(csv.reader([lines[0]]))]
    if "email" in header:
        column = header.index("email")
        rows = csv.reader(lines[1:])
        return [r[column] for r in rows if len(r) > column and r[column].strip()]
    return [line.strip() for line in lines]


# ---------------------------------------------------------------------------- endpoint
@dataclass
class _Endpoint:
    base_url: str
    api_key: str
    server: Any = None  # an in-process test server we started (stopped afterwards)


def _endpoint(
    progress: Progress, base_url: str | None = None, api_key: str | None = None
) -> _Endpoint:
    settings = load_settings()
    if base_url is not None:  # an explicit endpoint (the demo's test server, tests)
        key = api_key or settings.millionverifier_api_key or s.TEST_MODE_API_KEY
        return _Endpoint(base_url, key)
    if not settings.test_mode:
        if not settings.millionverifier_api_key:
            raise VerifierConfigError(
                "MILLIONVERIFIER_API_KEY is not set (or set OUTREACH_TEST_MODE=true for the "
                "local test server)"
            )
        return _Endpoint(settings.millionverifier_base_url, settings.millionverifier_api_key)
    key = settings.millionverifier_api_key or s.TEST_MODE_API_KEY
    host = urlsplit(settings.millionverifier_base_url).hostname
    if host in ("127.0.0.1", "localhost", "::1"):
        return _Endpoint(settings.millionverifier_base_url, key)
    from loaders.millionverifier.testserver import MillionVerifierTestServer

    server = MillionVerifierTestServer(api_key=key)
    base_url = server.start()
    progress(f"test mode: started the local MillionVerifier test server at {base_url}")
    return _Endpoint(base_url, key, server)


def _dedupe(emails: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in emails:
        email = normalize_email(value)
        if email is not None:
            seen.setdefault(email, None)
    return list(seen)


def _land(
    database_url: str,
    answers: Sequence[Answer],
    run_id: str,
    secret: str,
    pipelines_dir: Path | None,
) -> None:
    if not answers:
        return
    table = answers_table(answers, run_id, (secret,))
    pipeline = verifier_pipeline(database_url, pipelines_dir)
    if pipeline.has_pending_data:
        pipeline.abort_packages()
    try:
        pipeline.run(millionverifier_source([table]))
    except PipelineStepFailed as exc:
        raise VerifierError(
            redact(
                f"landing {len(answers)} answers in {s.DATASET_NAME} failed at step "
                f"{exc.step}: {exc.exception}",
                (secret,),
            )
        ) from None


# ---------------------------------------------------------------------------- the run
@dataclass
class _Options:
    bulk_poll_interval_s: float
    bulk_timeout_s: float
    land_batch: int


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
    retry: RetryPolicy | None = None,
    progress: Progress = print,
    pipelines_dir: Path | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
) -> VerificationSummary:
    """Verify emails and land the answers in raw_verifier; returns what the run did.

    Addresses come from ``emails``, else ``emails_file``, else the due queue
    (``people.due_email_recheck_30d``), at most ``max_emails`` of them. ``base_url``
    and ``api_key`` override the endpoint settings (a test-mode server). Vendor trouble
    never raises: the summary's ``status`` and ``message`` say how the run ended.
    Raises ``VerifierConfigError`` when the run cannot start (no key, no queue, bad file).
    """
    from outreach.warehouse import database_url as warehouse_url

    started = time.perf_counter()
    started_at = datetime.now(UTC)
    if concurrency < 1:
        raise VerifierConfigError(f"concurrency must be at least 1, got {concurrency}")
    url = database_url or warehouse_url()
    endpoint = _endpoint(progress, base_url, api_key)
    try:
        if emails is not None:
            source, wanted = "list", _dedupe(emails)
        elif emails_file is not None:
            source, wanted = "file", _dedupe(read_emails_file(Path(emails_file)))
        else:
            source, wanted = "queue", _dedupe(due_emails(url))
        erased = read_tombstones(url)  # GDPR-erased people are never sent to the vendor
        if erased:
            kept = [e for e in wanted if tombstones_sha256(e) not in erased]
            if len(kept) < len(wanted):
                progress(f"skipped {len(wanted) - len(kept)} GDPR-erased address(es)")
            wanted = kept
        if max_emails is not None:
            wanted = wanted[:max_emails]
        run_id = f"mv-{started_at:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        summary = VerificationSummary(
            run_id=run_id,
            emails_source=source,
            requested=len(wanted),
            concurrency=concurrency,
            method="bulk" if len(wanted) > bulk_threshold else "single",
        )
        ensure_raw_tables(url, pipelines_dir)
        _record_run(url, summary, started_at)
        client = MillionVerifierClient(
            endpoint.base_url,
            endpoint.api_key,
            api_timeout_s=api_timeout_s,
            http_timeout_s=http_timeout_s,
            retry=retry,
        )
        try:
            options = _Options(bulk_poll_interval_s, bulk_timeout_s, max(1, land_batch))
            _run(client, url, wanted, summary, endpoint, progress, pipelines_dir, options)
        except VerifierError as exc:  # e.g. landing failed: record the run, then raise
            summary.status = s.RUN_FAILED
            summary.message = client.clean(exc)
            raise
        finally:
            summary.seconds = time.perf_counter() - started
            summary.http = client.stats.as_dict()
            _record_run(url, summary, started_at)
        return summary
    finally:
        if endpoint.server is not None:
            endpoint.server.stop()


def _run(
    client: MillionVerifierClient,
    url: str,
    wanted: list[str],
    summary: VerificationSummary,
    endpoint: _Endpoint,
    progress: Progress,
    pipelines_dir: Path | None,
    options: _Options,
) -> None:
    by_result: Counter = Counter()
    unanswered: Counter = Counter()
    if not wanted:
        summary.status = s.RUN_COMPLETED
        progress("no emails to verify (the queue is empty)")
        return
    where = f"{urlsplit(endpoint.base_url).netloc or endpoint.base_url}"
    try:
        credits = client.credits()
    except AuthError as exc:
        summary.status, summary.message = s.RUN_FAILED, str(exc)
        summary.not_attempted = len(wanted)
        progress(f"stopped: {exc}")
        return
    except VerifierError as exc:  # the credits endpoint itself is down: try the checks anyway
        credits = None
        progress(f"could not read the credits left ({exc}); verifying anyway")
    summary.credits_left = credits
    if credits is not None and credits <= 0:
        summary.status = s.RUN_CREDITS_EXHAUSTED
        summary.not_attempted = len(wanted)
        summary.message = _credits_message(summary)
        progress(f"stopped: {summary.message}")
        return
    if credits is not None and credits < len(wanted):
        progress(
            f"note: {credits} credits left for {len(wanted)} emails; the run stops when they run out"
        )

    def account(answers: list[Answer]) -> None:
        _land(url, answers, summary.run_id, endpoint.api_key, pipelines_dir)
        summary.answered += len(answers)
        by_result.update(a.result or "none" for a in answers)
        credits_seen = [a.credits for a in answers if a.credits is not None]
        if credits_seen:
            summary.credits_left = min(credits_seen)

    stopped: VerifierError | None = None
    if summary.method == "bulk":
        progress(f"verifying {len(wanted)} emails through the bulk file API at {where}")
        t = time.perf_counter()
        outcome = client.verify_bulk(
            wanted,
            poll_interval_s=options.bulk_poll_interval_s,
            timeout_s=options.bulk_timeout_s,
            progress=progress,
        )
        summary.verify_seconds += time.perf_counter() - t
        summary.bulk_file_id = outcome.bulk_file_id
        land_batch = options.land_batch
        for i in range(0, len(outcome.answers), land_batch):
            account(outcome.answers[i : i + land_batch])
        unanswered.update(outcome.unanswered.values())
        summary.not_attempted = len(outcome.not_attempted)
        stopped = outcome.stopped
        if outcome.answers and stopped is None:
            summary.credits_left = None if credits is None else max(0, credits - len(wanted))
    else:
        concurrency = summary.concurrency
        land_batch = options.land_batch
        progress(
            f"verifying {len(wanted)} emails at {where} ({concurrency} in flight, "
            f"landing every {land_batch})"
        )
        for start in range(0, len(wanted), land_batch):
            chunk = wanted[start : start + land_batch]
            t = time.perf_counter()
            outcome = client.verify_many(chunk, concurrency=concurrency)
            summary.verify_seconds += time.perf_counter() - t
            account(outcome.answers)
            unanswered.update(outcome.unanswered.values())
            if outcome.stopped is not None:
                stopped = outcome.stopped
                summary.not_attempted = (
                    len(outcome.not_attempted) + len(wanted) - start - len(chunk)
                )
                break
            progress(f"{summary.answered} of {len(wanted)} answered")
    # emails the stop itself refused count as not verified, not as unanswered
    for reason in ("credits_exhausted", "auth_error"):
        summary.not_attempted += unanswered.pop(reason, 0)
    summary.by_result = dict(by_result)
    summary.unanswered = dict(unanswered)
    if isinstance(stopped, CreditsExhausted):
        summary.status = s.RUN_CREDITS_EXHAUSTED
        summary.credits_left = 0
        summary.message = _credits_message(summary)
    elif stopped is not None:
        summary.status = s.RUN_FAILED
        summary.message = client.clean(stopped)
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
