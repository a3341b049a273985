"""Entry points shared by the CLI and Dagster: file backfills of email events and the raw
tables' owner (``ensure_raw_tables``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from loaders.email_events import bookings, store
from loaders.email_events.events import SENDGRID, SES, read_file_events

FORMATS = (SENDGRID, SES)
BATCH = 5000


def ensure_raw_tables(database_url: str) -> bool:
    """raw_events.email_events, raw_events.booking_events (and raw_campaigns)."""
    made = store.ensure_raw_tables(database_url)
    return bookings.ensure_raw_tables(database_url) or made


@dataclass
class FileLoad:
    path: str
    format: str
    received: int = 0
    new: int = 0
    suppressed: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.received - self.new

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "format": self.format,
            "received": self.received,
            "new": self.new,
            "duplicates": self.duplicates,
            "suppressed": self.suppressed,
            "bad_items": self.problems,
        }

    def render(self) -> str:
        lines = [
            f"{self.path} ({self.format}): {self.received} events read, {self.new} new, "
            f"{self.duplicates} already stored, {self.suppressed} addresses suppressed"
        ]
        lines += [f"skipped: {p}" for p in self.problems]
        return "\n".join(lines)


def load_events_file(
    database_url: str, path: str, fmt: str, progress: Callable[[str], object] = print
) -> FileLoad:
    """Backfill a SendGrid (event arrays / JSON lines) or SES (notifications) export; bad
    items are reported by position, good ones stored; re-running stores nothing new."""
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt}: expected one of {', '.join(FORMATS)}")
    ensure_raw_tables(database_url)
    result = FileLoad(path, fmt)
    pending = []

    def flush(conn: psycopg.Connection) -> None:
        with conn.transaction():
            stored = store.store_events(conn, pending, batch_id=f"file:{path}")
        result.received += stored.received
        result.new += stored.new
        result.suppressed += stored.suppressed
        pending.clear()
        progress(f"{result.received} events read, {result.new} new")

    with psycopg.connect(database_url, autocommit=True) as conn:
        for _where, events in read_file_events(path, fmt):
            if isinstance(events, str):
                result.problems.append(events)
                continue
            pending.extend(events)
            if len(pending) >= BATCH:
                flush(conn)
        if pending:
            flush(conn)
    return result
