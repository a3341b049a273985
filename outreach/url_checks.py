"""Company URL check history in ``raw_ops.url_checks``, which the company URL queue is
derived from.

One row per check of a company URL (website, LinkedIn page, news page) by whatever checked
it. The company URL queue (``company.next_company_urls_30d``) and
``company.company.last_*_checked_at`` are derived from it: recording a check takes the URL
off the queue. **No production code writes here yet**: the company-pages loader (issue 22)
will, through ``record_url_checks``; until then the table stays empty and every company URL
is due. The table is written with psycopg (append-only, idempotent on its key) and created
empty by ``ensure_raw_tables`` so dbt can build before anything was recorded.

URLs are matched to companies after normalisation (website by host, LinkedIn by the
canonical company URL, news by the lowercased URL without scheme, ``www.`` and trailing
slash), so a checker may record the URL in any form it used::

    from outreach.url_checks import record_url_checks

    record_url_checks(
        url, [{"url_type": "website", "url": "https://acme.com", "checker": "site-scraper"}]
    )

Shared plumbing of the base, like the other ``raw_ops`` writers: ``pipeline_events`` /
``pipeline_errors`` (outreach/events.py), ``gdpr_tombstones`` (outreach/tombstones.py);
``deliveries`` / ``delivery_dead_letters`` belong to exports/outbox.py.
(``bit.signal.processed_at`` is derived from the outbox delivery log, ``raw_ops.deliveries``,
in dbt: nothing here records signal deliveries.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from outreach.raw import ensure_ddl_tables

SCHEMA = "raw_ops"
URL_TYPES = ("website", "linkedin", "news")

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.url_checks (
    check_id text primary key,
    url_type text not null check (url_type in ('website', 'linkedin', 'news')),
    url text not null,
    company_id bigint,
    checked_at timestamptz not null,
    checker text not null,
    http_status integer,
    outcome text,
    detail jsonb,
    _loaded_at timestamptz not null default now()
);
create index if not exists url_checks_url_type_checked_at_idx
    on {SCHEMA}.url_checks (url_type, checked_at);
"""
TABLES = {"url_checks"}


def ensure_raw_tables(database_url: str) -> bool:
    """Create the empty raw_ops tables this module owns if missing; True if it created any."""
    return ensure_ddl_tables(database_url, SCHEMA, TABLES, DDL)


def _url_check_id(check: Mapping[str, Any]) -> str:
    parts = [check["url_type"], check["url"], check["checked_at"].isoformat(), check["checker"]]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def record_url_checks(database_url: str, checks: Iterable[Mapping[str, Any]]) -> int:
    """Record company URL checks; returns how many rows were new.

    Each check: ``url_type`` (website | linkedin | news), ``url`` (as checked; matched to
    companies after normalisation), ``checker`` (who checked), optional ``checked_at``
    (default now, timezone-aware), ``company_id``, ``http_status``, ``outcome``, ``detail``
    (a JSON-able dict). The same check recorded twice lands once.
    """
    rows = []
    for raw in checks:
        check = dict(raw)
        if check.get("url_type") not in URL_TYPES:
            raise ValueError(f"url_type must be one of {URL_TYPES}, got {check.get('url_type')!r}")
        if not check.get("url") or not check.get("checker"):
            raise ValueError("a URL check needs url and checker")
        checked_at = check.get("checked_at") or datetime.now(UTC)
        if checked_at.tzinfo is None:
            raise ValueError("checked_at must be timezone-aware")
        check["checked_at"] = checked_at
        rows.append(
            (
                _url_check_id(check),
                check["url_type"],
                check["url"],
                check.get("company_id"),
                checked_at,
                check["checker"],
                check.get("http_status"),
                check.get("outcome"),
                Jsonb(check["detail"]) if check.get("detail") is not None else None,
            )
        )
    if not rows:
        return 0
    ensure_raw_tables(database_url)
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        before = cur.execute(f"select count(*) from {SCHEMA}.url_checks").fetchone()[0]
        cur.executemany(
            f"""
            insert into {SCHEMA}.url_checks (
                check_id, url_type, url, company_id, checked_at, checker, http_status,
                outcome, detail
            ) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (check_id) do nothing
            """,
            rows,
        )
        after = cur.execute(f"select count(*) from {SCHEMA}.url_checks").fetchone()[0]
    return after - before
