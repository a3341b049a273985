"""The app-owned raw schema ``raw_events``: provider events as they arrived, append-only.

``email_events`` holds one row per event and recipient, keyed by ``event_key`` (the
provider's event id, else a hash: ``events.py``), so a duplicate delivery is stored once
and order of arrival does not matter. Written by ``outreach serve`` (committed before the
2xx) and ``outreach load email-events``; never by dbt. The same transaction records the
suppressions the events call for (``outreach.campaigns``): hard bounces, spam complaints
and unsubscribes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg

from loaders.email_events.events import SENDGRID, SES, EmailEvent, dumps
from outreach import campaigns

SCHEMA = "raw_events"
TABLES = {"email_events"}

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.email_events (
    event_key text primary key,
    provider text not null,
    event_type text not null,
    email text,
    occurred_at timestamptz,
    message_id text,
    payload jsonb not null,
    batch_id text,
    received_at timestamptz not null default clock_timestamp()
);
create index if not exists email_events_received on {SCHEMA}.email_events (received_at);
create index if not exists email_events_message on {SCHEMA}.email_events (message_id);
comment on table {SCHEMA}.email_events is
    'Email-platform events (SendGrid Event Webhook, Amazon SES), one row per event and '
    'recipient, deduplicated on the provider event id (else a hash). Append-only.';
"""


def ensure_raw_tables(database_url: str) -> bool:
    from outreach.raw import ensure_ddl_tables

    ran = campaigns.ensure_raw_tables(database_url)
    ran = ensure_ddl_tables(database_url, SCHEMA, TABLES, DDL) or ran
    _ensure_message_index(database_url)
    return ran


def _ensure_message_index(database_url: str) -> None:
    """The index on message_id (incremental builds read every event of the messages that
    got a new one, int_campaign_sends) for warehouses created before it was in DDL: built
    concurrently, so the receiver keeps writing meanwhile."""
    index = f"{SCHEMA}.email_events_message"
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "select indisvalid from pg_index where indexrelid = to_regclass(%s)", (index,)
        ).fetchone()
        if row and row[0]:
            return
        if row:  # an interrupted concurrent build leaves an invalid index: build it again
            conn.execute(f"drop index concurrently if exists {index}")
        conn.execute(
            f"create index concurrently if not exists email_events_message"
            f" on {SCHEMA}.email_events (message_id)"
        )


def suppression_reason(event: EmailEvent) -> str | None:
    """The suppression an event calls for, if any."""
    p = event.payload
    if event.provider == SENDGRID:
        if event.event_type == "bounce" and p.get("type", "bounce") == "bounce":
            return "hard_bounce"  # type "blocked" is a soft bounce
        if event.event_type == "spamreport":
            return "complaint"
        if event.event_type in ("unsubscribe", "group_unsubscribe"):
            return "unsubscribe"
    elif event.provider == SES:
        if (
            event.event_type == "Bounce"
            and (p.get("bounce") or {}).get("bounceType") == "Permanent"
        ):
            return "hard_bounce"
        if event.event_type == "Complaint":
            return "complaint"
        if event.event_type == "Subscription":
            return "unsubscribe"
    return None


@dataclass
class Stored:
    received: int = 0
    new: int = 0
    suppressed: int = 0

    @property
    def duplicates(self) -> int:
        return self.received - self.new


COLUMNS = "event_key, provider, event_type, email, occurred_at, message_id, payload, batch_id"
COPY = f"copy {SCHEMA}.email_events ({COLUMNS}) from stdin"
# a batch that repeats stored events (a redelivery) is copied into a temporary table, then
# inserted with the dedupe (COPY is the fastest way in; binding arrays of jsonb costs
# several times more)
STAGE = f"""
create temporary table if not exists _incoming_events
    (like {SCHEMA}.email_events including defaults) on commit delete rows
"""
MERGE = f"""
insert into {SCHEMA}.email_events ({COLUMNS})
select {COLUMNS} from _incoming_events order by event_key
on conflict (event_key) do nothing
"""


def store_events(
    conn: psycopg.Connection, events: Iterable[EmailEvent], batch_id: str | None = None
) -> Stored:
    """Insert events (duplicates skipped) and their suppressions, in the caller's
    transaction; the caller commits before it acknowledges anything.

    The batch's rows (the first of each key, in key order) are copied straight into the
    table inside a savepoint; a key already stored makes that COPY fail, and the batch then
    takes the dedupe path (temporary table, ``on conflict do nothing``). Key order means
    two concurrent batches that share keys wait on each other instead of deadlocking."""
    events = list(events)
    result = Stored(received=len(events))
    rows = {}
    for e in events:
        if e.event_key not in rows:
            rows[e.event_key] = (
                e.event_key,
                e.provider,
                e.event_type,
                e.email,
                e.occurred_at,
                e.message_id,
                dumps(e.payload),
                batch_id,
            )
    ordered = [rows[k] for k in sorted(rows)]
    try:
        with conn.transaction(), conn.cursor().copy(COPY) as copy:
            for row in ordered:
                copy.write_row(row)
        result.new = len(ordered)
    except psycopg.errors.UniqueViolation:
        conn.execute(STAGE)
        with conn.cursor().copy(f"copy _incoming_events ({COLUMNS}) from stdin") as copy:
            for row in ordered:
                copy.write_row(row)
        result.new = conn.execute(MERGE).rowcount
    suppressions = [
        campaigns.Suppression(e.email, reason, f"{e.provider}:{e.event_type}", None, e.occurred_at)
        for e in events
        if e.email and (reason := suppression_reason(e))
    ]
    if suppressions:
        result.suppressed = campaigns.suppress(conn, suppressions)
    return result
