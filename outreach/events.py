"""Pipeline events and errors in ``raw_ops``: what every load, build and export step did.

- ``raw_ops.pipeline_events``: one row per step run (``event_type`` such as
  ``load.intake``, ``dbt.build``, ``export.alerts``, ``dagster.run``), ``pending`` while
  it runs, then ``processed`` or ``failed``; ``payload`` (jsonb) says what it was given and
  what it did. A pending event names the process that runs it (the raw-only column
  ``runner``: host, pid, the pid's start time, boot id); ``skipped`` when it ran but did
  nothing on purpose (an export whose circuit breaker is open): no error, and not a run the
  error rates count. The next step recorded closes the pending events of
  runs that died without a word (killed, crashed) as ``abandoned``: on this host when that
  process is gone, on another host when older than ``ABANDON_AFTER``.
- ``raw_ops.pipeline_errors``: one row per error (``record_id`` names what failed: the
  event, a Dagster run id, a job id), ``severity`` warning | error | critical, open until
  someone resolves it (``outreach ops resolve-error ID`` or ``resolve_error``).

dbt publishes them as ``marketing.pipeline_events``, ``marketing.pipeline_errors``,
``marketing.vw_error_rate_24h`` and ``marketing.vw_unresolved_errors``; the monitoring
thresholds (``seeds/monitoring_thresholds.csv``) read them too.

Operator mistakes are not pipeline errors: a step that raises ``OperatorError`` (a missing
file, a missing API key, a webhook URL without its secret) leaves no event and no error
behind; the command fails with the message and exit code 2.

Recording never makes a step fail: every function here that a step calls logs a warning
and returns ``None`` when the warehouse cannot be written. The simple API::

    from outreach.events import recorded, recording

    with recording(url, "export.alerts", {"target": "alerts"}) as event:
        report = deliver(...)
        event.update(sent=report.sent)          # merged into the payload when it ends

    @recorded("load.intake")                    # database_url= keyword or the warehouse
    def load_intake_files(...): ...
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg
from psycopg.types.json import Jsonb

from outreach.warehouse import connection_failure

log = logging.getLogger(__name__)

SCHEMA = "raw_ops"
EVENT_STATUSES = ("pending", "processed", "failed", "abandoned", "skipped")
# a pending event of another host (whose process we cannot check) older than this is dead
ABANDON_AFTER = timedelta(hours=24)
SEVERITIES = ("warning", "error", "critical")
MAX_MESSAGE = 4000
MAX_PAYLOAD = 20000

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.pipeline_events (
    event_id bigint generated always as identity primary key,
    event_type text not null,
    payload jsonb not null default '{{}}'::jsonb,
    status text not null default 'pending'
        check (status in ('pending', 'processed', 'failed', 'abandoned', 'skipped')),
    created_at timestamptz not null default now(),
    processed_at timestamptz,
    updated_at timestamptz not null default now(),
    runner jsonb
);
create index if not exists pipeline_events_type_created_idx
    on {SCHEMA}.pipeline_events (event_type, created_at);
create index if not exists pipeline_events_pending_idx
    on {SCHEMA}.pipeline_events (created_at) where status = 'pending';
create table if not exists {SCHEMA}.pipeline_errors (
    error_id bigint generated always as identity primary key,
    event_id bigint,
    event_type text not null,
    record_id text,
    error_message text not null,
    severity text not null default 'error'
        check (severity in ('warning', 'error', 'critical')),
    resolved boolean not null default false,
    resolved_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index if not exists pipeline_errors_type_created_idx
    on {SCHEMA}.pipeline_errors (event_type, created_at);
comment on table {SCHEMA}.pipeline_events is
    'One row per pipeline step run (load, dbt build, export, Dagster run): outreach/events.py.';
comment on table {SCHEMA}.pipeline_errors is
    'One row per pipeline error, open until resolved: outreach/events.py.';
"""
TABLES = {"pipeline_events", "pipeline_errors"}

F = TypeVar("F", bound=Callable[..., Any])


class OperatorError(Exception):
    """A mistake of whoever started the step, not a failure of the pipeline: a missing or
    unusable input file, an unset API key, a webhook URL without its secret, a bad
    argument. The command fails with the message (exit code 2); ``recording`` leaves no
    event and no error for it, so it never counts in error rates nor fires an ops alert.
    Loader and export configuration errors inherit from it."""


class SkippedRun(Exception):  # noqa: N818 (it is not an error: the point)
    """A step that did nothing on purpose (an export whose circuit breaker is open): raised
    (as the cause of the orchestrator's failure) so a retry policy tries again later, but
    recorded as a ``skipped`` run, not as a pipeline error."""


def operator_error_names() -> set[str]:
    """Class names of every ``OperatorError`` subclass imported so far (Dagster's error info
    carries the class name only)."""
    names, todo = set(), [OperatorError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def ensure_raw_tables(database_url: str) -> bool:
    """Create the empty event and error tables if missing; True if it created any."""
    from outreach.raw import ensure_ddl_tables

    return ensure_ddl_tables(database_url, SCHEMA, TABLES, DDL)


_UPGRADED: set[str] = set()


def _upgrade(database_url: str, max_age: timedelta = ABANDON_AFTER) -> list[int]:
    """Tables made before ``abandoned`` and ``runner`` existed: widen the status check, add
    the column and close the pending events older than ``max_age`` that older versions left
    (they name no process); once per process and database. The closed event ids."""
    closed: list[int] = []
    if database_url in _UPGRADED:
        return closed
    with psycopg.connect(database_url) as conn:
        has_runner = conn.execute(
            "select 1 from information_schema.columns"
            " where table_schema = %s and table_name = 'pipeline_events' and column_name = 'runner'",
            (SCHEMA,),
        ).fetchone()
        if not has_runner:
            conn.execute("select pg_advisory_xact_lock(hashtext('outreach raw_ops ddl'))")
            conn.execute(
                f"alter table {SCHEMA}.pipeline_events add column if not exists runner jsonb"
            )
        _allow_abandoned(conn)
        if not has_runner:
            reason = f"pending over {max_age.total_seconds() / 3600:g} h (an older version)"
            closed = [
                row[0]
                for row in conn.execute(
                    f"""
                    update {SCHEMA}.pipeline_events
                    set status = 'abandoned', processed_at = now(), updated_at = now(),
                        payload = payload || %s
                    where status = 'pending' and created_at < now() - %s
                    returning event_id
                    """,
                    (Jsonb({"abandoned": reason}), max_age),
                )
            ]
    _UPGRADED.add(database_url)
    return closed


def _allow_abandoned(conn: psycopg.Connection) -> None:
    definition = conn.execute(
        """
        select pg_get_constraintdef(oid) from pg_constraint
        where conrelid = %s::regclass and conname = 'pipeline_events_status_check'
        """,
        (f"{SCHEMA}.pipeline_events",),
    ).fetchone()
    if definition is None or all(status in definition[0] for status in EVENT_STATUSES):
        return
    conn.execute(
        f"""
        alter table {SCHEMA}.pipeline_events
            drop constraint pipeline_events_status_check,
            add constraint pipeline_events_status_check
                check (status in ('pending', 'processed', 'failed', 'abandoned', 'skipped'))
        """
    )


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _pid_started(pid: int) -> str | None:
    """The process's start time (clock ticks after boot): with the pid, names one process
    even after the pid is reused. None if there is no such process (or no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def runner() -> dict[str, Any]:
    """What names this process in a pending event's payload."""
    pid = os.getpid()
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "pid_started": _pid_started(pid),
        "boot_id": _boot_id(),
    }


def _is_dead(run: Mapping[str, Any]) -> str | None:
    """Why the process that recorded a pending event is gone; None if it may still run."""
    if run.get("host") != socket.gethostname():
        return None  # another host: only the age limit can tell
    if run.get("boot_id") and run.get("boot_id") != _boot_id():
        return "the host restarted since"
    pid = run.get("pid")
    if not isinstance(pid, int):
        return None
    started = _pid_started(pid)
    if started is None:
        return f"process {pid} is gone"
    if run.get("pid_started") and started != run["pid_started"]:
        return f"process {pid} is gone (its pid now names another process)"
    return None


def close_abandoned(
    database_url: str, *, now: datetime | None = None, max_age: timedelta = ABANDON_AFTER
) -> list[int]:
    """Close the pending events of runs that died without a word as ``abandoned``: their
    process is gone from this host, or (runs of other hosts, which cannot be checked) they
    are older than ``max_age``. Events that name no process (written by hand, or by an older
    version: those are closed once, when the table is upgraded) are left alone. The reason goes
    into the payload (``abandoned``). Returns the closed event ids."""
    now = now or _now()
    with psycopg.connect(database_url) as conn:
        if not conn.execute("select to_regclass(%s)", (f"{SCHEMA}.pipeline_events",)).fetchone()[0]:
            return []
        closed = _upgrade(database_url, max_age)
        pending = conn.execute(
            f"""
            select event_id, created_at, runner
            from {SCHEMA}.pipeline_events where status = 'pending' and runner is not null
            """
        ).fetchall()
        for event_id, created_at, run in pending:
            local = (
                isinstance(run, dict)
                and run.get("host") == socket.gethostname()
                and isinstance(run.get("pid"), int)
            )
            if local:  # its process can be checked: a live one is never abandoned
                reason = _is_dead(run)
            elif created_at < now - max_age:
                reason = f"still pending after {max_age.total_seconds() / 3600:g} h"
            else:
                reason = None
            if reason is None:
                continue
            cur = conn.execute(
                f"""
                update {SCHEMA}.pipeline_events
                set status = 'abandoned', processed_at = %s, updated_at = now(),
                    payload = payload || %s
                where event_id = %s and status = 'pending'
                """,
                (now, Jsonb({"abandoned": reason}), event_id),
            )
            if cur.rowcount:
                closed.append(event_id)
                log.warning("pipeline event %s closed as abandoned: %s", event_id, reason)
    return closed


def _scrub(text: str, limit: int | None = MAX_MESSAGE) -> str:
    """Error texts end up in the warehouse: never with a secret in them."""
    from outreach.settings import _SECRET_FIELDS, load_settings

    settings = load_settings()
    for name in _SECRET_FIELDS:
        value = getattr(settings, name, None)
        if value and len(value) >= 4:
            text = text.replace(value, "***")
    return text if limit is None else text[:limit]


def _now() -> datetime:
    return datetime.now(UTC)


def _jsonable(payload: Mapping[str, Any] | None) -> Jsonb:
    """The payload as jsonb: dates and other objects as text, secrets scrubbed, and a
    payload over MAX_PAYLOAD characters cut down to its keys."""
    text = _scrub(json.dumps(dict(payload or {}), default=str), limit=None)
    if len(text) > MAX_PAYLOAD:
        text = json.dumps({"truncated": True, "keys": sorted(map(str, payload or {}))})
    return Jsonb(json.loads(text))


def summary_facts(result: Any) -> dict[str, Any] | None:
    """Default ``outcome`` of ``recorded``: the step's ``result.as_dict()`` if it has one."""
    as_dict = getattr(result, "as_dict", None)
    return {"summary": as_dict()} if callable(as_dict) else None


# ------------------------------------------------------------------ strict API (raises)
def add_event(
    database_url: str,
    event_type: str,
    payload: Mapping[str, Any] | None = None,
    *,
    status: str = "pending",
    created_at: datetime | None = None,
    processed_at: datetime | None = None,
) -> int:
    """Insert an event and return its id; raises on a bad status or a database error."""
    if status not in EVENT_STATUSES:
        raise ValueError(f"status must be one of {EVENT_STATUSES}, got {status!r}")
    created_at = created_at or _now()
    if status != "pending" and processed_at is None:
        processed_at = created_at
    ensure_raw_tables(database_url)
    _upgrade(database_url)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            f"""
            insert into {SCHEMA}.pipeline_events
                (event_type, payload, status, created_at, processed_at, updated_at, runner)
            values (%s, %s, %s, %s, %s, now(), %s)
            returning event_id
            """,
            (
                event_type,
                _jsonable(payload),
                status,
                created_at,
                processed_at,
                Jsonb(runner()) if status == "pending" else None,
            ),
        ).fetchone()
    return int(row[0])


def add_error(
    database_url: str,
    event_type: str,
    record_id: str | int | None,
    message: str,
    *,
    severity: str = "error",
    event_id: int | None = None,
    created_at: datetime | None = None,
) -> int:
    """Insert an error and return its id; raises on a bad severity or a database error."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {SEVERITIES}, got {severity!r}")
    ensure_raw_tables(database_url)
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            f"""
            insert into {SCHEMA}.pipeline_errors
                (event_id, event_type, record_id, error_message, severity, created_at, updated_at)
            values (%s, %s, %s, %s, %s, %s, now())
            returning error_id
            """,
            (
                event_id,
                event_type,
                None if record_id is None else str(record_id),
                _scrub(str(message)) or "(no message)",
                severity,
                created_at or _now(),
            ),
        ).fetchone()
    return int(row[0])


def set_event_status(
    database_url: str,
    event_id: int,
    status: str,
    *,
    payload: Mapping[str, Any] | None = None,
    processed_at: datetime | None = None,
) -> bool:
    """Move an event to ``status`` (processed_at set when it leaves pending), merging
    ``payload`` into its payload; True if the event exists."""
    if status not in EVENT_STATUSES:
        raise ValueError(f"status must be one of {EVENT_STATUSES}, got {status!r}")
    done_at = None if status == "pending" else (processed_at or _now())
    with psycopg.connect(database_url) as conn:
        cur = conn.execute(
            f"""
            update {SCHEMA}.pipeline_events
            set status = %s, processed_at = %s, payload = payload || %s, updated_at = now()
            where event_id = %s
            """,
            (status, done_at, _jsonable(payload), event_id),
        )
        return cur.rowcount > 0


def resolve_error(database_url: str, error_id: int, *, resolved_at: datetime | None = None) -> bool:
    """Mark an error resolved (once: resolved_at keeps the first time); True if it was open."""
    ensure_raw_tables(database_url)
    with psycopg.connect(database_url) as conn:
        cur = conn.execute(
            f"""
            update {SCHEMA}.pipeline_errors
            set resolved = true, resolved_at = %s, updated_at = now()
            where error_id = %s and not resolved
            """,
            (resolved_at or _now(), error_id),
        )
        return cur.rowcount > 0


# ------------------------------------------------------- safe API (steps call these)
def _safely(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # recording must never break the step it records
        _warn(what, exc)
        return None


def _warn(what: str, exc: BaseException) -> None:
    log.warning("could not record %s in %s: %s", what, SCHEMA, _scrub(str(exc)))


def record_event(
    database_url: str,
    event_type: str,
    payload: Mapping[str, Any] | None = None,
    status: str = "pending",
    **kwargs: Any,
) -> int | None:
    """Record an event; its id, or None (and a warning) if it could not be recorded."""
    return _safely("event", add_event, database_url, event_type, payload, status=status, **kwargs)


def record_error(
    database_url: str,
    event_type: str,
    record_id: str | int | None,
    message: str,
    severity: str = "error",
    **kwargs: Any,
) -> int | None:
    """Record an error; its id, or None (and a warning) if it could not be recorded."""
    return _safely(
        "error",
        add_error,
        database_url,
        event_type,
        record_id,
        message,
        severity=severity,
        **kwargs,
    )


def mark_processed(
    database_url: str, event_id: int | None, payload: Mapping[str, Any] | None = None
) -> bool:
    """The event's step finished; False (and a warning) if that could not be recorded."""
    if event_id is None:
        return False
    return bool(
        _safely(
            "event status", set_event_status, database_url, event_id, "processed", payload=payload
        )
    )


def mark_failed(
    database_url: str, event_id: int | None, payload: Mapping[str, Any] | None = None
) -> bool:
    """The event's step failed; False (and a warning) if that could not be recorded."""
    if event_id is None:
        return False
    return bool(
        _safely("event status", set_event_status, database_url, event_id, "failed", payload=payload)
    )


class StepEvent:
    """What ``recording`` yields: ``update(**facts)`` adds to the payload recorded at the
    end; ``fail(message)`` ends the step ``failed`` with an error without raising;
    ``skip(reason)`` ends it ``skipped`` (no error: it did nothing on purpose)."""

    def __init__(self, event_id: int | None) -> None:
        self.event_id = event_id
        self.facts: dict[str, Any] = {}
        self.failure: tuple[str, str] | None = None
        self.skipped: str | None = None

    def update(self, **facts: Any) -> None:
        self.facts.update(facts)

    def fail(self, message: str, severity: str = "error") -> None:
        self.failure = (message, severity)

    def skip(self, reason: str) -> None:
        self.skipped = reason


def _forget_event(database_url: str, event_id: int | None) -> None:
    """Remove the pending event of a step that never started (an operator mistake)."""
    if event_id is None:
        return
    with psycopg.connect(database_url) as conn:
        conn.execute(
            f"delete from {SCHEMA}.pipeline_events where event_id = %s and status = 'pending'",
            (event_id,),
        )


@contextmanager
def recording(
    database_url: str | None,
    event_type: str,
    payload: Mapping[str, Any] | None = None,
) -> Iterator[StepEvent]:
    """Record a step: an event ``pending`` on entry, ``processed`` on a normal exit,
    ``failed`` plus an error (record_id = the event id) when the block raises (the
    exception propagates) or calls ``event.fail(...)``, ``skipped`` when it calls
    ``event.skip(reason)``. An ``OperatorError`` leaves nothing behind (the pending event
    is removed): it is the operator's mistake, not the pipeline's. Never raises on its own."""
    url = database_url
    if url is None:
        url = _safely("event", _warehouse_url)
    if url is None:
        yield StepEvent(None)
        return
    try:
        event, unrecorded = StepEvent(add_event(url, event_type, payload)), None
    except Exception as exc:  # recording must never break the step it records
        event, unrecorded = StepEvent(None), exc
    else:  # the warehouse answers: close what killed runs left pending
        _safely("abandoned events", close_abandoned, url)
    try:
        yield event
    except OperatorError:
        _safely("event", _forget_event, url, event.event_id)
        raise
    except BaseException as exc:
        if unrecorded is not None and connection_failure(exc) and connection_failure(unrecorded):
            raise  # the warehouse is unreachable: the step's own error says so, in one line
        if unrecorded is not None:
            _warn("event", unrecorded)
        mark_failed(url, event.event_id, {**event.facts, "error_kind": type(exc).__name__})
        record_error(
            url,
            event_type,
            event.event_id,
            f"{type(exc).__name__}: {exc}",
            "warning" if isinstance(exc, KeyboardInterrupt) else "error",
            event_id=event.event_id,
        )
        raise
    if unrecorded is not None:
        _warn("event", unrecorded)
    if event.failure is not None:
        message, severity = event.failure
        mark_failed(url, event.event_id, event.facts)
        record_error(url, event_type, event.event_id, message, severity, event_id=event.event_id)
    elif event.skipped is not None:
        if event.event_id is not None:
            _safely(
                "event status",
                set_event_status,
                url,
                event.event_id,
                "skipped",
                payload={**event.facts, "skipped": event.skipped},
            )
    else:
        mark_processed(url, event.event_id, event.facts)


def _warehouse_url() -> str:
    from outreach.warehouse import database_url

    return database_url()


def recorded(
    event_type: str,
    *,
    outcome: Callable[[Any], Mapping[str, Any] | None] | None = summary_facts,
    failure: Callable[[Any], str | None] | None = None,
) -> Callable[[F], F]:
    """Decorate a step function taking ``database_url=`` (None = the warehouse): each call
    is an event (see ``recording``). ``outcome(result)`` gives facts for the payload
    (default: ``result.as_dict()`` as ``summary``);
    ``failure(result)`` a message when a returned result means the step failed."""

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                bound = signature.bind_partial(*args, **kwargs)
                url = bound.arguments.get("database_url")
                trigger = bound.arguments.get("trigger")
            except TypeError:
                url, trigger = None, None
            payload = {"step": fn.__name__, **({"trigger": trigger} if trigger else {})}
            with recording(url, event_type, payload) as event:
                result = fn(*args, **kwargs)
                if outcome is not None:
                    facts = _safely("event outcome", outcome, result)
                    event.update(**(facts or {}))
                if failure is not None:
                    message = _safely("event outcome", failure, result)
                    if message:
                        event.fail(message)
                return result

        return wrapper  # type: ignore[return-value]

    return decorate
