"""Calendly v2 webhooks into ``raw_events.booking_events``.

A webhook (Calendly API v2 "Webhook payload"): ``event`` (``invitee.created`` /
``invitee.canceled``), ``created_at`` and ``payload`` - the invitee: ``uri``, ``email``,
``name``, ``status``, ``event`` (the scheduled event's URI), ``scheduled_event{start_time,
end_time}``, ``tracking{utm_*}``, ``rescheduled`` and ``cancellation``. A reschedule is a
cancel with ``rescheduled: true`` followed by a create for a new invitee URI. The key is
the webhook event plus the invitee URI (a redelivery is stored once), else a hash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from loaders.email_events.events import EventFormatError, canonical_hash, utc_time
from outreach.tombstones import normalise_email

SCHEMA = "raw_events"
DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.booking_events (
    event_key text primary key,
    booking_seq bigint generated always as identity,
    source text not null,
    event_type text not null,
    email text,
    occurred_at timestamptz,
    scheduled_start timestamptz,
    rescheduled boolean not null default false,
    payload jsonb not null,
    received_at timestamptz not null default clock_timestamp()
);
"""
EVENTS = ("invitee.created", "invitee.canceled")


@dataclass(frozen=True)
class Booking:
    event_key: str
    event_type: str
    email: str | None
    occurred_at: datetime | None
    scheduled_start: datetime | None
    rescheduled: bool
    payload: dict[str, Any]


def ensure_raw_tables(database_url: str) -> bool:
    from outreach.raw import ensure_ddl_tables

    return ensure_ddl_tables(database_url, SCHEMA, {"booking_events"}, DDL)


def calendly_booking(hook: Any, where: str = "body") -> Booking:
    if not isinstance(hook, dict):
        raise EventFormatError(f"{where}: expected a webhook object")
    event = hook.get("event")
    if event not in EVENTS:
        raise EventFormatError(f"{where}.event: expected one of {EVENTS}, got {event!r}")
    payload = hook.get("payload")
    if not isinstance(payload, dict):
        raise EventFormatError(f"{where}.payload: expected the invitee object")
    scheduled = payload.get("scheduled_event") or {}
    uri = payload.get("uri")
    return Booking(
        event_key=f"calendly:{event}:{uri}" if uri else f"calendly:sha256:{canonical_hash(hook)}",
        event_type=event,
        email=normalise_email(payload.get("email")),
        occurred_at=utc_time(hook.get("created_at"), f"{where}.created_at"),
        scheduled_start=utc_time(
            scheduled.get("start_time") if isinstance(scheduled, dict) else None,
            f"{where}.payload.scheduled_event.start_time",
        ),
        rescheduled=bool(payload.get("rescheduled")),
        payload=hook,
    )


def store_bookings(conn: psycopg.Connection, bookings: Iterable[Booking]) -> int:
    new = 0
    for b in bookings:
        new += conn.execute(
            f"insert into {SCHEMA}.booking_events (event_key, source, event_type, email,"
            " occurred_at, scheduled_start, rescheduled, payload)"
            " values (%s, 'calendly', %s, %s, %s, %s, %s, %s) on conflict do nothing",
            (
                b.event_key,
                b.event_type,
                b.email,
                b.occurred_at,
                b.scheduled_start,
                b.rescheduled,
                Jsonb(b.payload),
            ),
        ).rowcount
    return new
