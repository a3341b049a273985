"""Shared setup for the Apify tests (no tests here).

The loader reads tracked people from ``marketing.people_master`` (else the intake staging
model, else raw intake). ``seed_tracked_people`` loads them through the real intake loader;
a test that builds dbt on top reads them from the real marts.
"""

from __future__ import annotations

import contextlib
import csv
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from loaders.intake.run import load_intake_files
from testing.apify import ApifyTestServer

# a token shaped like a real one, so a leak anywhere is easy to grep for
TOKEN = "apify_api_T0kenN3verL0gged7f3c9a1b2c"

FIXTURES = Path(__file__).parent / "fixtures" / "apify"


def seed_tracked_people(url: str, people: list[dict[str, Any] | str]) -> list[str]:
    """Load tracked people (dicts with linkedin_url, full_name, title, or bare URLs) through
    the real intake loader (the entry point of `outreach load intake`), all working at one
    company; returns their LinkedIn URLs as given. Without a dbt build the Apify loader reads
    them from raw_intake.people (after a build: from marketing.people_master)."""
    rows = [p if isinstance(p, dict) else {"linkedin_url": p} for p in people]
    with tempfile.TemporaryDirectory(prefix="tracked-") as tmp:
        folder = Path(tmp)
        (folder / "companies.csv").write_text(
            "company_name,website_url\nTracked Co,tracked.example\n"
        )
        with (folder / "people.csv").open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["full_name", "title", "linkedin_url", "company_website"])
            for row in rows:
                handle = (row.get("linkedin_url") or "").rstrip("/").rsplit("/", 1)[-1]
                name = row.get("full_name") or f"Tracked {handle.split('?')[0]}"
                writer.writerow(
                    [name, row.get("title"), row.get("linkedin_url"), "tracked.example"]
                )
        summary = load_intake_files(
            folder / "companies.csv",
            folder / "people.csv",
            database_url=url,
            progress=lambda _m: None,
        )
    assert summary.people is not None and summary.people.quarantined == 0, summary.render()
    return [r["linkedin_url"] for r in rows]


def reset_apify_state(url: str) -> None:
    """Drop what the Apify and intake loaders create, for a clean slate."""
    with psycopg.connect(url, autocommit=True) as conn:
        for schema in ("raw_apify", "raw_apify_staging", "raw_intake", "marketing", "staging"):
            conn.execute(f"drop schema if exists {schema} cascade")


def people_urls(n: int, prefix: str = "person") -> list[str]:
    """``n`` profile URLs written the ways intake files write them."""
    forms = [
        "https://www.linkedin.com/in/{h}",
        "https://linkedin.com/in/{h}/",
        "http://uk.linkedin.com/in/{H}?trk=abc",
        "linkedin.com/in/{h}",
    ]
    out = []
    for i in range(n):
        handle = f"{prefix}-{i:03d}"
        out.append(forms[i % len(forms)].format(h=handle, H=handle.title()))
    return out


def fast(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """refresh_profiles keyword arguments with test-sized timings (the official client's
    retries: 4 attempts, a millisecond of backoff)."""
    return {
        "max_retries": 3,
        "min_retry_delay_s": 0.001,
        "http_timeout_s": 5.0,
        "timeout_s": 10.0,
        "pipelines_dir": tmp_path / "dlt",
        "progress": lambda _msg: None,
        **overrides,
    }


@contextlib.contextmanager
def apify_test_server(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> Iterator[ApifyTestServer]:
    """The test-mode server on 127.0.0.1 with the environment pointing the loader at it."""
    kwargs.setdefault("token", TOKEN)
    with ApifyTestServer(**kwargs) as server:
        monkeypatch.setenv("OUTREACH_TEST_MODE", "true")
        monkeypatch.setenv("APIFY_BASE_URL", server.base_url)
        monkeypatch.setenv("APIFY_TOKEN", TOKEN)
        yield server


def job_rows(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        conn.row_factory = psycopg.rows.dict_row
        return conn.execute("select * from raw_apify.refresh_jobs order by id").fetchall()


def raw_items(url: str) -> list[dict[str, Any]]:
    with psycopg.connect(url) as conn:
        if not conn.execute("select to_regclass('raw_apify.profile_items')").fetchone()[0]:
            return []
        conn.row_factory = psycopg.rows.dict_row
        return conn.execute(
            "select * from raw_apify.profile_items order by job_unique_id, item_index"
        ).fetchall()


def table_snapshot(
    url: str, schemas: tuple[str, ...] = ("raw_apify",), *, include_dlt: bool = False
) -> dict[str, list[str]]:
    """Every row of every table in ``schemas`` as text (dlt bookkeeping tables excluded
    unless ``include_dlt``: their load ids change on every run)."""
    out: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            """
            select table_schema, table_name from information_schema.tables
            where table_schema = any(%s) and (%s or table_name not like '\\_dlt%%')
            order by 1, 2
            """,
            (list(schemas), include_dlt),
        ).fetchall()
        for schema, name in tables:
            rows = conn.execute(
                psycopg.sql.SQL("select t::text from {}.{} as t").format(
                    psycopg.sql.Identifier(schema), psycopg.sql.Identifier(name)
                )
            ).fetchall()
            out[f"{schema}.{name}"] = sorted(r[0] for r in rows)
    return out


def all_warehouse_text(url: str) -> str:
    """Every row of every table in every non-system schema, as one text (for leak greps)."""
    with psycopg.connect(url) as conn:
        schemas = [
            r[0]
            for r in conn.execute(
                """
                select nspname from pg_namespace
                where nspname not like 'pg\\_%%' and nspname <> 'information_schema'
                """
            ).fetchall()
        ]
    return "\n".join(
        "\n".join(rows) for rows in table_snapshot(url, tuple(schemas), include_dlt=True).values()
    ) + "\n".join(schemas)
