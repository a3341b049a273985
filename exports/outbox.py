"""Deliver the rows of an outbox relation to a webhook, once per row, with a delivery log.

An *outbox* is a relation (a dbt mart) with one row per message to send:

| column | meaning |
| --- | --- |
| id column (``OutboxSpec.id_column``) | stable text id; sent as the ``Idempotency-Key`` header |
| ``payload`` | the JSON body (jsonb) |
| ``created_at`` | send order (ties by id) |
| order column (``OutboxSpec.order_column``, optional) | rows of one key (a person) go out in order |

``deliver`` POSTs every row that has no ``delivered`` attempt yet for the target and is not
dead-lettered, oldest first, and records every attempt in ``raw_ops.deliveries`` *before*
sending (status ``sending``) and after (``delivered`` / ``failed`` with HTTP status,
latency and error):

- nothing is sent twice by us: a row with a delivered attempt is never picked again; a
  unique index allows one ``delivered`` row per (target, id); a session advisory lock per
  target keeps two deliverers (a schedule and a sensor, say) from sending at once. If a
  process dies between the receiver's 200 and our update, the row is sent again on the
  next run with the same ``Idempotency-Key``: receivers dedupe on it. The ids of every
  relation delivered to one target must therefore be unique across them.
- nothing is lost while the receiver is down: transport errors, 5xx, 408 and 429 are
  retried with exponential backoff and jitter; when a row still fails, the run stops
  (the rows keep their order) and everything stays pending for the next run. Another 4xx
  marks that row's attempt ``failed`` and the run goes on with the next row (but not with
  later rows of the same order key); it is tried again on the next run.
- dead letter: a row whose failed attempts *that the receiver answered* reach
  ``Webhook.dead_letter_after`` (counted across runs; default 5, ``OUTREACH_EXPORT_MAX_ATTEMPTS``)
  is recorded in ``raw_ops.delivery_dead_letters`` and no longer picked. "Try later"
  answers (408, 425, 429, 502, 503, 504) and unreachable receivers never count: a receiver
  that is down must not burn rows. ``requeue_dead`` (``outreach export … --retry-dead``)
  puts dead rows back, with a fresh count.
- circuit breaker, per target, derived from the log (not from memory): after
  ``Webhook.breaker_threshold`` (3) consecutive failed attempts that point at the receiver
  rather than a row (unreachable, 5xx, 408/425/429, 401/403/404) the run stops; runs
  within ``breaker_cooldown_s`` of the last such failure skip without a request. After the
  cool-down one attempt probes (half-open): success closes the breaker, failure opens it
  again for another cool-down. Any answer that is a delivery or a row-level rejection
  (e.g. 422) resets the count.

The body is the payload's JSON text as stored, or what ``encode(outbox_id, payload)``
makes of it (an envelope). Each attempt is signed when it is sent: ``X-Outreach-Signature:
t=<unix>,v1=<hex>``, an HMAC-SHA256 with ``OUTREACH_WEBHOOK_SECRET`` over the timestamp,
the ``Idempotency-Key`` and the body (exports/signing.py: Stripe's scheme with the key
added; ``Webhook.clock`` gives the time). The secret is never logged or stored; the log
keeps a sha256 of each body.

Each attempt has a total deadline (``Webhook.deadline_s``, ``OUTREACH_EXPORT_DEADLINE_S``,
default 30 s) on top of httpx's per-operation timeouts (``timeout_s``): httpx bounds each
connect and each read, not the exchange, so a receiver that trickles its answer a byte at
a time would hold the attempt, its ``sending`` row and the target's lock for as long as it
likes. An attempt past its deadline is a failed, retryable attempt like a timeout.

With ``notify_channel``, each delivered row also sends ``pg_notify(channel, json)`` in the
transaction that marks it delivered (so a LISTENing worker sees exactly the committed
deliveries).
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio
import httpx
import psycopg
from anyio.from_thread import start_blocking_portal
from psycopg import sql

from exports.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, Clock, sign

LOG_SCHEMA = "raw_ops"
LOG_TABLE = "deliveries"
DEAD_LETTER_TABLE = "delivery_dead_letters"
RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}
# "try later": retried, never counted toward a dead letter
TEMPORARY_STATUSES = (408, 425, 429, 502, 503, 504)
# the target (not the row) is wrong: counted by the circuit breaker like 5xx and no answer
TARGET_STATUSES = (401, 403, 404)

_DDL = f"""
create schema if not exists {LOG_SCHEMA};
create table if not exists {LOG_SCHEMA}.{LOG_TABLE} (
    delivery_id bigint generated always as identity primary key,
    target text not null,
    outbox_relation text not null,
    outbox_id text not null,
    attempt integer not null,
    status text not null check (status in ('sending', 'delivered', 'failed')),
    http_status integer,
    latency_ms double precision,
    error text,
    payload_sha256 text not null,
    attempted_at timestamptz not null default now(),
    finished_at timestamptz
);
create unique index if not exists deliveries_delivered_once
    on {LOG_SCHEMA}.{LOG_TABLE} (target, outbox_id) where status = 'delivered';
create index if not exists deliveries_target_outbox
    on {LOG_SCHEMA}.{LOG_TABLE} (target, outbox_id);
create index if not exists deliveries_target_delivery
    on {LOG_SCHEMA}.{LOG_TABLE} (target, delivery_id);
comment on table {LOG_SCHEMA}.{LOG_TABLE} is
    'Every webhook delivery attempt of an outbox row (exports/outbox.py): one delivered row '
    'per (target, outbox_id) at most.';
create table if not exists {LOG_SCHEMA}.{DEAD_LETTER_TABLE} (
    event_id bigint generated always as identity primary key,
    target text not null,
    outbox_relation text not null,
    outbox_id text not null,
    action text not null check (action in ('dead_letter', 'requeued')),
    attempts integer not null,
    last_delivery_id bigint,
    reason text,
    recorded_at timestamptz not null default now()
);
create index if not exists delivery_dead_letters_target_outbox
    on {LOG_SCHEMA}.{DEAD_LETTER_TABLE} (target, outbox_id, event_id);
comment on table {LOG_SCHEMA}.{DEAD_LETTER_TABLE} is
    'Dead-letter events of outbox rows (exports/outbox.py), append-only: dead_letter when a '
    'row''s answered failed attempts reached the limit, requeued when an operator put it back. '
    'The latest event of a (target, outbox_id) is its state.';
"""
_REQUIRED = (
    f"{LOG_SCHEMA}.{LOG_TABLE}",
    f"{LOG_SCHEMA}.{DEAD_LETTER_TABLE}",
    f"{LOG_SCHEMA}.deliveries_target_delivery",
)

# SQL predicates over raw_ops.deliveries matching counts_for_breaker / counts_for_dead_letter
_BREAKER_SQL = (
    "(status = 'failed' and (http_status is null or http_status >= 500 or http_status in "
    f"({', '.join(str(s) for s in (*TEMPORARY_STATUSES, *TARGET_STATUSES))})))"
)
_DEAD_LETTER_SQL = (
    "({a}status = 'failed' and {a}http_status is not null and {a}http_status not in "
    f"({', '.join(str(s) for s in TEMPORARY_STATUSES)}))"
)

Progress = Callable[[str], Any]
Encode = Callable[[str, str], bytes]


def counts_for_breaker(status: int | None) -> bool:
    """A failed attempt that says the receiver (not the row) is in trouble."""
    return status is None or status >= 500 or status in TEMPORARY_STATUSES + TARGET_STATUSES


def counts_for_dead_letter(status: int | None) -> bool:
    """A failed attempt the receiver answered, other than "try later"."""
    return status is not None and status not in TEMPORARY_STATUSES


@dataclass(frozen=True)
class OutboxSpec:
    """Which relation to deliver, to which target (one webhook per target)."""

    target: str  # e.g. "alerts"; the delivery log, the lock and the breaker are per target
    relation: str  # "<schema>.<table>"
    id_column: str = "notification_id"
    payload_column: str = "payload"
    created_at_column: str = "created_at"
    order_column: str | None = None  # e.g. person id: a failed row holds back later ones

    def identifier(self) -> sql.Composable:
        schema, _, table = self.relation.partition(".")
        return sql.Identifier(schema, table) if table else sql.Identifier(schema)


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str
    timeout_s: float = 10.0  # httpx's per-operation timeouts (connect, each read, each write)
    deadline_s: float = 30.0  # the whole attempt, from connect to the last byte of the answer
    max_attempts: int = 3  # per row and run
    backoff_base_s: float = 0.5
    backoff_max_s: float = 10.0
    jitter: float = 0.5
    dead_letter_after: int = 5  # answered failed attempts of a row, across runs
    breaker_threshold: int = 3  # consecutive receiver-side failed attempts of the target
    breaker_cooldown_s: float = 300.0
    # now, in unix seconds: the signature's timestamp, an attempt's finished_at and so the
    # breaker's cool-down (tests inject one)
    clock: Clock = time.time

    def __repr__(self) -> str:  # never print the secret (nor credentials in the URL)
        return (
            f"Webhook(url={strip_url_secrets(self.url)!r}, secret='***', max_attempts={self.max_attempts},"
            f" dead_letter_after={self.dead_letter_after})"
        )

    def backoff(self, attempt: int) -> float:
        base = min(self.backoff_base_s * 2 ** (attempt - 1), self.backoff_max_s)
        return max(0.0, base * (1 + random.uniform(-self.jitter, self.jitter)))


def strip_url_secrets(url: str) -> str:
    """scheme://host[:port]/path: no user info, query or fragment (they may hold tokens)."""
    parts = httpx.URL(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.host}{port}{parts.path}"


@dataclass
class Breaker:
    """The circuit breaker of a target, as the delivery log says it is now."""

    target: str
    consecutive_failures: int = 0
    last_failure_at: datetime | None = None
    last_error: str | None = None
    open: bool = False  # within the cool-down: runs skip
    half_open: bool = False  # cool-down over: the next attempt probes
    retry_after_s: float = 0.0

    def render(self) -> str:
        if self.open:
            return (
                f"circuit breaker open for {self.target}: {self.consecutive_failures} "
                f"consecutive failed attempts, last at {self.last_failure_at:%Y-%m-%d %H:%M:%S%z} "
                f"({self.last_error}); next try in {self.retry_after_s:.0f} s"
            )
        if self.half_open:
            return f"circuit breaker half-open for {self.target}: one attempt probes the receiver"
        return f"circuit breaker closed for {self.target}"


@dataclass
class DeliveryReport:
    target: str
    relation: str
    pending_before: int = 0
    delivered: int = 0
    failed_rows: int = 0
    dead_lettered: int = 0
    held_rows: int = 0  # not tried: an earlier row of the same order key failed this run
    attempts: int = 0
    pending_after: int = 0
    dead_letters: int = 0  # rows of the relation in the dead letter after the run
    stopped: str | None = None  # why the run stopped early (receiver down, breaker), else None
    breaker_open: bool = False
    missing_relation: bool = False
    delivered_ids: list[str] = field(default_factory=list)
    dead_ids: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    parts: list[DeliveryReport] = field(default_factory=list)  # per relation, when combined

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "relation": self.relation,
            "pending_before": self.pending_before,
            "delivered": self.delivered,
            "failed_rows": self.failed_rows,
            "dead_lettered": self.dead_lettered,
            "held_rows": self.held_rows,
            "attempts": self.attempts,
            "pending_after": self.pending_after,
            "dead_letters": self.dead_letters,
            "stopped": self.stopped,
            "breaker_open": self.breaker_open,
            "missing_relation": self.missing_relation,
            "seconds": round(self.seconds, 3),
            **({"relations": [p.as_dict() for p in self.parts]} if len(self.parts) > 1 else {}),
        }

    @classmethod
    def combine(cls, parts: list[DeliveryReport]) -> DeliveryReport:
        """One report over the relations of a target (a single part is returned as is)."""
        if len(parts) == 1:
            return parts[0]
        out = cls(target=parts[0].target, relation=", ".join(p.relation for p in parts))
        for name in (
            "pending_before",
            "delivered",
            "failed_rows",
            "dead_lettered",
            "held_rows",
            "attempts",
            "pending_after",
            "dead_letters",
            "seconds",
        ):
            setattr(out, name, sum(getattr(p, name) for p in parts))
        for name in ("delivered_ids", "dead_ids", "latencies_ms"):
            setattr(out, name, [x for p in parts for x in getattr(p, name)])
        out.stopped = next((p.stopped for p in parts if p.stopped), None)
        out.breaker_open = any(p.breaker_open for p in parts)
        out.missing_relation = all(p.missing_relation for p in parts)
        out.parts = parts
        return out

    def render(self) -> str:
        if len(self.parts) > 1:
            return "\n".join(p.render() for p in self.parts)
        if self.missing_relation:
            return f"{self.relation} does not exist yet (build the models first): nothing sent"
        # the counts add up: pending before = delivered + dead-lettered + pending after,
        # and pending after = failed (retried next run) + held + not tried
        untried = max(self.pending_after - self.failed_rows - self.held_rows, 0)
        text = (
            f"{self.target} ({self.relation}): {self.pending_before} rows pending: "
            f"{self.delivered} delivered, {self.dead_lettered} dead-lettered, "
            f"{self.pending_after} pending ({self.failed_rows} failed and retried next run, "
            f"{self.held_rows} held behind a failed row, {untried} not tried); "
            f"{self.dead_letters} in the dead letter ({self.attempts} attempts, "
            f"{self.seconds:.2f} s)"
        )
        return f"{text}; stopped: {self.stopped}" if self.stopped else text


class DeadlineExceeded(Exception):
    """An attempt took longer than ``Webhook.deadline_s`` in all."""


class Poster:
    """POSTs with a total deadline per request.

    httpx has no total timeout (encode/httpx#1450): its timeouts bound each network
    operation. Its maintainers' answer is cancellation, so each POST runs on an
    ``httpx.AsyncClient`` in an anyio portal thread inside ``anyio.fail_after(deadline)``,
    which cancels the request (and closes its connection) wherever it is."""

    def __init__(self, timeout_s: float, deadline_s: float):
        self.timeout_s, self.deadline_s = timeout_s, deadline_s

    def __enter__(self) -> Poster:
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s))
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._portal.call(self._client.aclose)
        finally:
            self._portal_cm.__exit__(None, None, None)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """The answer (body read), httpx.HTTPError, or DeadlineExceeded."""
        return self._portal.call(self._post, url, body, headers)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        try:
            with anyio.fail_after(self.deadline_s):
                return await self._client.post(url, content=body, headers=headers)
        except TimeoutError:
            raise DeadlineExceeded(
                f"no complete answer within the deadline of {self.deadline_s:g} s"
            ) from None


def _missing(conn: psycopg.Connection) -> list[str]:
    return [
        name
        for name in _REQUIRED
        if conn.execute("select to_regclass(%s)", (name,)).fetchone()[0] is None
    ]


def ensure_delivery_log(conn: psycopg.Connection) -> None:
    """Create the delivery log and the dead-letter table if missing (serialised: concurrent
    DDL would collide)."""
    if not _missing(conn):
        return
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('outreach raw_ops ddl'))")
        conn.execute(_DDL)


def ensure_raw_tables(database_url: str) -> bool:
    """The delivery log and dead letters, for ``outreach.raw`` (True if any was created)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        missing = _missing(conn)
        ensure_delivery_log(conn)
    return bool(missing)


def _relation_exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s)", (relation,)).fetchone()[0] is not None


def _pending_query(spec: OutboxSpec) -> sql.Composed:
    """Undelivered, not dead-lettered rows in send order, with the row's attempts so far and
    its answered failed attempts since it was last requeued."""
    return sql.SQL(
        """
        with attempts as (
            select outbox_id, count(*) as attempts, bool_or(status = 'delivered') as delivered,
                   max(delivery_id) as last_delivery_id
            from {log} where target = %(target)s
            group by outbox_id
        ),
        dead as (
            select distinct on (outbox_id) outbox_id, action, last_delivery_id
            from {dead_letters} where target = %(target)s
            order by outbox_id, event_id desc
        ),
        counted as (
            select d.outbox_id, count(*) as failures
            from {log} as d
            left join dead on d.outbox_id = dead.outbox_id
            where d.target = %(target)s and {dead_letter_sql}
              and d.delivery_id > coalesce(dead.last_delivery_id, 0)
            group by d.outbox_id
        )
        select cast(o.{id} as text), cast(o.{payload} as text), cast({order_key} as text),
               coalesce(a.attempts, 0), coalesce(c.failures, 0)
        from {relation} as o
        left join attempts as a on a.outbox_id = cast(o.{id} as text)
        left join dead on dead.outbox_id = cast(o.{id} as text)
        left join counted as c on c.outbox_id = cast(o.{id} as text)
        where not coalesce(a.delivered, false) and coalesce(dead.action, '') <> 'dead_letter'
        order by o.{created_at}, o.{id}
        """
    ).format(
        id=sql.Identifier(spec.id_column),
        payload=sql.Identifier(spec.payload_column),
        created_at=sql.Identifier(spec.created_at_column),
        order_key=sql.SQL("o.{}").format(sql.Identifier(spec.order_column))
        if spec.order_column
        else sql.SQL("null"),
        relation=spec.identifier(),
        log=sql.Identifier(LOG_SCHEMA, LOG_TABLE),
        dead_letters=sql.Identifier(LOG_SCHEMA, DEAD_LETTER_TABLE),
        dead_letter_sql=sql.SQL(_DEAD_LETTER_SQL.format(a="d.")),
    )


def _dead_query(spec: OutboxSpec) -> sql.Composed:
    """Dead-lettered rows of the relation: (outbox_id, last_delivery_id of the row)."""
    return sql.SQL(
        """
        select cast(o.{id} as text),
               (select max(delivery_id) from {log} as d
                where d.target = %(target)s and d.outbox_id = cast(o.{id} as text))
        from {relation} as o
        inner join (
            select distinct on (outbox_id) outbox_id, action
            from {dead_letters} where target = %(target)s
            order by outbox_id, event_id desc
        ) as dead on dead.outbox_id = cast(o.{id} as text)
        where dead.action = 'dead_letter'
        """
    ).format(
        id=sql.Identifier(spec.id_column),
        relation=spec.identifier(),
        log=sql.Identifier(LOG_SCHEMA, LOG_TABLE),
        dead_letters=sql.Identifier(LOG_SCHEMA, DEAD_LETTER_TABLE),
    )


def pending_count(database_url: str, spec: OutboxSpec) -> int | None:
    """Rows of the outbox not delivered yet and not dead-lettered (None: no relation)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if not _relation_exists(conn, spec.relation):
            return None
        ensure_delivery_log(conn)
        query = sql.SQL("select count(*) from ({}) as pending").format(_pending_query(spec))
        return conn.execute(query, {"target": spec.target}).fetchone()[0]


def dead_letter_ids(database_url: str, spec: OutboxSpec) -> list[str] | None:
    """Ids of the rows of the outbox in the dead letter (None: no relation)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if not _relation_exists(conn, spec.relation):
            return None
        ensure_delivery_log(conn)
        rows = conn.execute(_dead_query(spec), {"target": spec.target}).fetchall()
    return sorted(r[0] for r in rows)


def requeue_dead(
    database_url: str, spec: OutboxSpec, *, reason: str = "requeued by hand"
) -> list[str]:
    """Put every dead-lettered row of the outbox back in the queue with a fresh attempt
    count (a ``requeued`` event); returns their ids. Waits for a running delivery."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if not _relation_exists(conn, spec.relation):
            return []
        ensure_delivery_log(conn)
        with conn.transaction():
            conn.execute(
                "select pg_advisory_xact_lock(hashtext(%s))", (f"outreach outbox {spec.target}",)
            )
            rows = conn.execute(_dead_query(spec), {"target": spec.target}).fetchall()
            with conn.cursor() as cur:
                cur.executemany(
                    sql.SQL(
                        "insert into {} (target, outbox_relation, outbox_id, action, attempts,"
                        " last_delivery_id, reason) values (%s, %s, %s, 'requeued', 0, %s, %s)"
                    ).format(sql.Identifier(LOG_SCHEMA, DEAD_LETTER_TABLE)),
                    [(spec.target, spec.relation, oid, last, reason) for oid, last in rows],
                )
    return sorted(r[0] for r in rows)


def _breaker(conn: psycopg.Connection, target: str, webhook: Webhook) -> Breaker:
    rows = conn.execute(
        sql.SQL(
            "select {breaker}, error, finished_at, "
            " extract(epoch from finished_at) + %s - %s"
            " from {log} where target = %s and status <> 'sending'"
            " order by delivery_id desc limit %s"
        ).format(breaker=sql.SQL(_BREAKER_SQL), log=sql.Identifier(LOG_SCHEMA, LOG_TABLE)),
        (
            webhook.breaker_cooldown_s,
            webhook.clock(),  # the cool-down runs on the webhook's clock, as finished_at does
            target,
            max(webhook.breaker_threshold, 1),
        ),
    ).fetchall()
    state = Breaker(target=target)
    for counts, _error, _at, _left in rows:
        if not counts:
            break
        state.consecutive_failures += 1
    if rows and state.consecutive_failures:
        state.last_error, state.last_failure_at = rows[0][1], rows[0][2]
    if state.consecutive_failures >= webhook.breaker_threshold:
        left = float(rows[0][3] or 0)
        state.open = left > 0
        state.half_open = not state.open
        state.retry_after_s = max(left, 0.0)
    return state


def circuit_breaker(database_url: str, target: str, webhook: Webhook) -> Breaker:
    """The breaker of ``target`` now (from raw_ops.deliveries)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        ensure_delivery_log(conn)
        return _breaker(conn, target, webhook)


def deliver(
    database_url: str,
    spec: OutboxSpec,
    webhook: Webhook,
    *,
    progress: Progress = lambda _m: None,
    lock_timeout_s: float = 300.0,
    encode: Encode | None = None,
    notify_channel: str | None = None,
    progress_every: int = 500,
) -> DeliveryReport:
    """POST every undelivered row of ``spec.relation`` to ``webhook.url``; see the module doc."""
    started = time.perf_counter()
    report = DeliveryReport(target=spec.target, relation=spec.relation)
    with psycopg.connect(database_url, autocommit=True) as conn:
        if not _relation_exists(conn, spec.relation):
            report.missing_relation = True
            return report
        ensure_delivery_log(conn)
        conn.execute(
            "select set_config('lock_timeout', %s, false)", (f"{int(lock_timeout_s * 1000)}ms",)
        )
        conn.execute("select pg_advisory_lock(hashtext(%s))", (f"outreach outbox {spec.target}",))
        try:
            rows = conn.execute(_pending_query(spec), {"target": spec.target}).fetchall()
            report.pending_before = len(rows)
            breaker = _breaker(conn, spec.target, webhook)
            if breaker.open and rows:
                report.stopped, report.breaker_open = breaker.render(), True
                progress(report.stopped)
            elif rows:
                if breaker.half_open:
                    progress(breaker.render())
                run = _Run(conn, spec, webhook, report, encode, notify_channel)
                run.consecutive = breaker.consecutive_failures
                run.send_all(rows, progress, progress_every)
            report.pending_after = report.pending_before - report.delivered - report.dead_lettered
            report.dead_letters = len(
                conn.execute(_dead_query(spec), {"target": spec.target}).fetchall()
            )
        finally:
            conn.execute(
                "select pg_advisory_unlock(hashtext(%s))", (f"outreach outbox {spec.target}",)
            )
    report.seconds = time.perf_counter() - started
    progress(report.render())
    return report


class _Run:
    """One delivery run over the pending rows (holds the connection, client and counters)."""

    def __init__(
        self,
        conn: psycopg.Connection,
        spec: OutboxSpec,
        webhook: Webhook,
        report: DeliveryReport,
        encode: Encode | None,
        notify_channel: str | None,
    ):
        self.conn, self.spec, self.webhook, self.report = conn, spec, webhook, report
        self.encode = encode or (lambda _id, payload: payload.encode())
        self.notify_channel = notify_channel
        self.consecutive = 0  # receiver-side failed attempts in a row (the breaker's count)
        # the delivered mark of the last row, written with the next attempt's log row (one
        # round trip for both) or at the end of the run
        self.deferred: tuple[sql.Composable, tuple] | None = None
        self.log = sql.Identifier(LOG_SCHEMA, LOG_TABLE)
        self.insert = sql.SQL(
            "insert into {} (target, outbox_relation, outbox_id, attempt, status, payload_sha256)"
            " values (%s, %s, %s, %s, 'sending', %s) returning delivery_id"
        ).format(self.log)
        self.update = sql.SQL(
            "update {} set status = %s, http_status = %s, latency_ms = %s, error = %s,"
            " finished_at = to_timestamp(%s) where delivery_id = %s"
        ).format(self.log)
        self.update_notify = sql.SQL(
            "with marked as ({} returning delivery_id) select pg_notify(%s, %s) from marked"
        ).format(self.update)

    def send_all(self, rows: list[tuple], progress: Progress, progress_every: int) -> None:
        try:
            self._send_all(rows, progress, progress_every)
        finally:
            self.flush()

    def _send_all(self, rows: list[tuple], progress: Progress, progress_every: int) -> None:
        report, held = self.report, set()
        with Poster(self.webhook.timeout_s, self.webhook.deadline_s) as http:
            for position, (outbox_id, payload, order_key, previous, failures) in enumerate(rows):
                if order_key is not None and order_key in held:
                    report.held_rows += 1  # keeps the order of this key: waits for the next run
                    continue
                outcome = self.send_row(http, outbox_id, payload, previous, failures)
                if outcome == "delivered":
                    report.delivered += 1
                    report.delivered_ids.append(outbox_id)
                elif outcome == "dead_letter":
                    report.dead_lettered += 1
                    report.dead_ids.append(outbox_id)
                else:
                    report.failed_rows += 1
                    if order_key is not None:
                        held.add(order_key)
                if self.consecutive >= self.webhook.breaker_threshold:
                    report.breaker_open = True
                    report.stopped = (
                        f"circuit breaker opened after {self.consecutive} consecutive failed "
                        f"attempts; runs skip for {self.webhook.breaker_cooldown_s:.0f} s"
                    )
                elif outcome.startswith("receiver unavailable"):
                    report.stopped = outcome
                if report.stopped:  # keep order: leave the rest pending
                    progress(
                        f"{self.spec.target}: stopped after {position} of {len(rows)} rows: "
                        f"{report.stopped}"
                    )
                    return
                if progress_every and (position + 1) % progress_every == 0:
                    progress(
                        f"{self.spec.target}: {position + 1} of {len(rows)} rows, "
                        f"{report.delivered} delivered"
                    )

    def send_row(
        self, http: Poster, outbox_id: str, payload: str, previous: int, failures: int
    ) -> str:
        """'delivered', 'failed' (answered: go on), 'dead_letter', or why the receiver is
        unavailable."""
        conn, spec, webhook, report = self.conn, self.spec, self.webhook, self.report
        body = self.encode(outbox_id, payload)
        digest = hashlib.sha256(body).hexdigest()
        last_error = ""
        for attempt in range(1, webhook.max_attempts + 1):
            number = previous + attempt
            delivery_id = self._insert_attempt(
                (spec.target, spec.relation, outbox_id, number, digest)
            )
            report.attempts += 1
            headers = {
                "Content-Type": "application/json",
                IDEMPOTENCY_HEADER: outbox_id,
                SIGNATURE_HEADER: sign(body, outbox_id, webhook.secret, timestamp=webhook.clock()),
                "X-Outreach-Delivery": str(delivery_id),
                "X-Outreach-Attempt": str(number),
                "X-Outreach-Target": spec.target,
                "User-Agent": "outreach-warehouse-outbox/1",
            }
            t0 = time.perf_counter()
            status: int | None = None
            try:
                response = http.post(webhook.url, body, headers)
                status = response.status_code
                error = None if status < 300 else f"HTTP {status}: {response.text[:200]}"
            except DeadlineExceeded as exc:
                error = f"DeadlineExceeded: {exc}"
            except httpx.HTTPError as exc:  # the URL may carry a token: never log it
                text = str(exc).replace(webhook.url, strip_url_secrets(webhook.url))
                error = f"{type(exc).__name__}: {text}"[:300]
            latency = (time.perf_counter() - t0) * 1000
            if status is not None and status < 300:
                values = ("delivered", status, latency, None, webhook.clock(), delivery_id)
                if self.notify_channel:  # one statement: the notice commits with the update
                    note = {
                        "target": spec.target,
                        "relation": spec.relation,
                        "outbox_id": outbox_id,
                        "delivery_id": delivery_id,
                        "attempt": number,
                        "http_status": status,
                    }
                    self.deferred = (
                        self.update_notify,
                        (*values, self.notify_channel, json.dumps(note)),
                    )
                else:
                    self.deferred = (self.update, values)
                report.latencies_ms.append(latency)
                self.consecutive = 0
                return "delivered"
            conn.execute(
                self.update, ("failed", status, latency, error, webhook.clock(), delivery_id)
            )
            last_error = error or ""
            self.consecutive = self.consecutive + 1 if counts_for_breaker(status) else 0
            if counts_for_dead_letter(status):
                failures += 1
                if failures >= webhook.dead_letter_after:
                    self._dead_letter(outbox_id, failures, delivery_id, last_error)
                    return "dead_letter"
            if self.consecutive >= webhook.breaker_threshold:
                return f"receiver unavailable ({last_error})"
            if status is not None and status not in RETRYABLE_STATUSES:
                return "failed"
            if attempt < webhook.max_attempts:
                time.sleep(webhook.backoff(attempt))
        return f"receiver unavailable after {webhook.max_attempts} attempts ({last_error})"

    def _insert_attempt(self, values: tuple) -> int:
        """Log an attempt before it is sent; the previous row's delivered mark, if still
        deferred, goes in the same round trip (pipeline)."""
        if self.deferred is None:
            return self.conn.execute(self.insert, values).fetchone()[0]
        query, previous = self.deferred
        self.deferred = None
        with self.conn.pipeline():
            self.conn.execute(query, previous)
            cursor = self.conn.execute(self.insert, values)
        return cursor.fetchone()[0]

    def flush(self) -> None:
        """Write a deferred delivered mark now (end of run)."""
        if self.deferred is not None:
            query, values = self.deferred
            self.deferred = None
            self.conn.execute(query, values)

    def _dead_letter(self, outbox_id: str, failures: int, delivery_id: int, error: str) -> None:
        self.conn.execute(
            sql.SQL(
                "insert into {} (target, outbox_relation, outbox_id, action, attempts,"
                " last_delivery_id, reason) values (%s, %s, %s, 'dead_letter', %s, %s, %s)"
            ).format(sql.Identifier(LOG_SCHEMA, DEAD_LETTER_TABLE)),
            (self.spec.target, self.spec.relation, outbox_id, failures, delivery_id, error[:300]),
        )
