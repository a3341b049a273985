"""Deliver the rows of an outbox relation to a webhook, once per row, with a delivery log.

An *outbox* is a relation (a dbt mart) with one row per message to send:

| column | meaning |
| --- | --- |
| id column (``OutboxSpec.id_column``) | stable text id; sent as the ``Idempotency-Key`` header |
| ``payload`` | the JSON body (jsonb) |
| ``created_at`` | send order (ties by id) |

``deliver`` POSTs every row that has no ``delivered`` attempt yet for the target, oldest
first, and records every attempt in ``raw_ops.deliveries`` *before* sending (status
``sending``) and after (``delivered`` / ``failed`` with HTTP status, latency and error):

- nothing is sent twice by us: a row with a delivered attempt is never picked again; a
  unique index allows one ``delivered`` row per (target, id); a session advisory lock per
  target keeps two deliverers (a schedule and a sensor, say) from sending at once. If a
  process dies between the receiver's 200 and our update, the row is sent again on the
  next run with the same ``Idempotency-Key``: receivers dedupe on it.
- nothing is lost while the receiver is down: transport errors, 5xx, 408 and 429 are
  retried with exponential backoff and jitter; when a row still fails, the run stops
  (the rows keep their order) and everything stays pending for the next run. Another 4xx
  marks that row's attempt ``failed`` and the run goes on with the next row; it is tried
  again on the next run.

The body is the payload's JSON text as stored; ``X-Outreach-Signature-256:
sha256=<hex>`` is its HMAC-SHA256 with ``OUTREACH_WEBHOOK_SECRET`` (``verify_signature``
checks one). The secret is never logged or stored; the log keeps a sha256 of each body.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from psycopg import sql

LOG_SCHEMA = "raw_ops"
LOG_TABLE = "deliveries"
SIGNATURE_HEADER = "X-Outreach-Signature-256"
IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRYABLE_STATUSES = {408, 425, 429, 500, 502, 503, 504}

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
comment on table {LOG_SCHEMA}.{LOG_TABLE} is
    'Every webhook delivery attempt of an outbox row (exports/outbox.py): one delivered row '
    'per (target, outbox_id) at most.';
"""

Progress = Callable[[str], Any]


@dataclass(frozen=True)
class OutboxSpec:
    """Which relation to deliver, to which target (one webhook per target)."""

    target: str  # e.g. "alerts"; the delivery log and the lock are per target
    relation: str  # "<schema>.<table>"
    id_column: str = "notification_id"
    payload_column: str = "payload"
    created_at_column: str = "created_at"

    def identifier(self) -> sql.Composable:
        schema, _, table = self.relation.partition(".")
        return sql.Identifier(schema, table) if table else sql.Identifier(schema)


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str
    timeout_s: float = 10.0
    max_attempts: int = 3  # per row and run
    backoff_base_s: float = 0.5
    backoff_max_s: float = 10.0
    jitter: float = 0.5

    def __repr__(self) -> str:  # never print the secret
        return f"Webhook(url={self.url!r}, secret='***', max_attempts={self.max_attempts})"

    def backoff(self, attempt: int) -> float:
        base = min(self.backoff_base_s * 2 ** (attempt - 1), self.backoff_max_s)
        return max(0.0, base * (1 + random.uniform(-self.jitter, self.jitter)))


@dataclass
class DeliveryReport:
    target: str
    relation: str
    pending_before: int = 0
    delivered: int = 0
    failed_rows: int = 0
    attempts: int = 0
    pending_after: int = 0
    stopped: str | None = None  # why the run stopped early (receiver down), else None
    missing_relation: bool = False
    delivered_ids: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "relation": self.relation,
            "pending_before": self.pending_before,
            "delivered": self.delivered,
            "failed_rows": self.failed_rows,
            "attempts": self.attempts,
            "pending_after": self.pending_after,
            "stopped": self.stopped,
            "missing_relation": self.missing_relation,
            "seconds": round(self.seconds, 3),
        }

    def render(self) -> str:
        if self.missing_relation:
            return f"{self.relation} does not exist yet (build the models first): nothing sent"
        text = (
            f"{self.target}: {self.delivered} delivered, {self.failed_rows} failed, "
            f"{self.pending_after} pending ({self.attempts} attempts, {self.seconds:.2f} s)"
        )
        return f"{text}; stopped: {self.stopped}" if self.stopped else text


def sign(body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256 of body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(sign(body, secret), header)


def ensure_delivery_log(conn: psycopg.Connection) -> None:
    """Create raw_ops.deliveries if missing (serialised: concurrent DDL would collide)."""
    exists = conn.execute("select to_regclass(%s)", (f"{LOG_SCHEMA}.{LOG_TABLE}",)).fetchone()[0]
    if exists:
        return
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('outreach raw_ops ddl'))")
        conn.execute(_DDL)


def ensure_raw_tables(database_url: str) -> bool:
    """The delivery log, for ``outreach.raw`` (True if it was created)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        existed = conn.execute("select to_regclass(%s)", (f"{LOG_SCHEMA}.{LOG_TABLE}",)).fetchone()[
            0
        ]
        ensure_delivery_log(conn)
    return existed is None


def _relation_exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s)", (relation,)).fetchone()[0] is not None


def _pending_query(spec: OutboxSpec) -> sql.Composed:
    return sql.SQL(
        """
        select cast(o.{id} as text), cast(o.{payload} as text)
        from {relation} as o
        where not exists (
            select 1 from {log} as d
            where d.target = %(target)s and d.outbox_id = cast(o.{id} as text)
              and d.status = 'delivered'
        )
        order by o.{created_at}, o.{id}
        """
    ).format(
        id=sql.Identifier(spec.id_column),
        payload=sql.Identifier(spec.payload_column),
        created_at=sql.Identifier(spec.created_at_column),
        relation=spec.identifier(),
        log=sql.Identifier(LOG_SCHEMA, LOG_TABLE),
    )


def pending_count(database_url: str, spec: OutboxSpec) -> int | None:
    """Rows of the outbox not delivered yet (None if the relation does not exist)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if not _relation_exists(conn, spec.relation):
            return None
        ensure_delivery_log(conn)
        query = sql.SQL("select count(*) from ({}) as pending").format(_pending_query(spec))
        return conn.execute(query, {"target": spec.target}).fetchone()[0]


def deliver(
    database_url: str,
    spec: OutboxSpec,
    webhook: Webhook,
    *,
    progress: Progress = lambda _m: None,
    lock_timeout_s: float = 300.0,
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
            with httpx.Client(timeout=httpx.Timeout(webhook.timeout_s)) as http:
                for position, (outbox_id, payload) in enumerate(rows):
                    outcome = _deliver_row(conn, http, spec, webhook, outbox_id, payload, report)
                    if outcome == "delivered":
                        report.delivered += 1
                        report.delivered_ids.append(outbox_id)
                    elif outcome == "failed":
                        report.failed_rows += 1
                    else:  # receiver unavailable: keep order, leave the rest pending
                        report.failed_rows += 1
                        report.stopped = outcome
                        progress(
                            f"{spec.target}: stopped after {position} of {len(rows)} rows: {outcome}"
                        )
                        break
            report.pending_after = report.pending_before - report.delivered
        finally:
            conn.execute(
                "select pg_advisory_unlock(hashtext(%s))", (f"outreach outbox {spec.target}",)
            )
    report.seconds = time.perf_counter() - started
    progress(report.render())
    return report


def _deliver_row(
    conn: psycopg.Connection,
    http: httpx.Client,
    spec: OutboxSpec,
    webhook: Webhook,
    outbox_id: str,
    payload: str,
    report: DeliveryReport,
) -> str:
    """'delivered', 'failed' (a 4xx: go on) or the reason the receiver is unavailable."""
    body = payload.encode()
    digest = hashlib.sha256(body).hexdigest()
    log = sql.Identifier(LOG_SCHEMA, LOG_TABLE)
    previous = conn.execute(
        sql.SQL("select count(*) from {} where target = %s and outbox_id = %s").format(log),
        (spec.target, outbox_id),
    ).fetchone()[0]
    last_error = ""
    for attempt in range(1, webhook.max_attempts + 1):
        delivery_id = conn.execute(
            sql.SQL(
                "insert into {} (target, outbox_relation, outbox_id, attempt, status, payload_sha256)"
                " values (%s, %s, %s, %s, 'sending', %s) returning delivery_id"
            ).format(log),
            (spec.target, spec.relation, outbox_id, previous + attempt, digest),
        ).fetchone()[0]
        report.attempts += 1
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: outbox_id,
            SIGNATURE_HEADER: sign(body, webhook.secret),
            "X-Outreach-Delivery": str(delivery_id),
            "X-Outreach-Attempt": str(previous + attempt),
            "X-Outreach-Target": spec.target,
            "User-Agent": "outreach-warehouse-outbox/1",
        }
        t0 = time.perf_counter()
        status: int | None = None
        try:
            response = http.post(webhook.url, content=body, headers=headers)
            status = response.status_code
            error = None if status < 300 else f"HTTP {status}: {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        latency = (time.perf_counter() - t0) * 1000
        state = "delivered" if status is not None and status < 300 else "failed"
        conn.execute(
            sql.SQL(
                "update {} set status = %s, http_status = %s, latency_ms = %s, error = %s,"
                " finished_at = now() where delivery_id = %s"
            ).format(log),
            (state, status, latency, error, delivery_id),
        )
        if state == "delivered":
            report.latencies_ms.append(latency)
            return "delivered"
        last_error = error or ""
        if status is not None and status not in RETRYABLE_STATUSES:
            return "failed"
        if attempt < webhook.max_attempts:
            time.sleep(webhook.backoff(attempt))
    return f"receiver unavailable after {webhook.max_attempts} attempts ({last_error})"
