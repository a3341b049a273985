"""Faults during an intake load, at points chosen by the caller rather than by timing.

``outreach load intake`` runs as a real process. To stop it at a known point, another
session takes an ``EXCLUSIVE`` lock (reads pass, writes wait) on the table the load writes
next; the loader's statement then waits on that lock, visible in ``pg_stat_activity``, and
the caller kills the loader (or the server) there. Used by ``tests/test_faults.py`` (small
files) and ``benchmarks/bench_fault_recovery.py`` (users' scale).

The points:

- ``before_copy``: ``raw_intake_staging.people`` is locked. dlt has extracted and
  normalized the files (the load package is on disk) and its load step waits to write the
  people into the staging dataset: nothing of this run is in ``raw_intake`` yet.
- ``before_merge``: ``raw_intake.people`` is locked. The staging tables hold this run's
  rows and the merge into the raw table waits.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from outreach.settings import PROJECT_ROOT

OUTREACH = str(Path(sys.executable).parent / "outreach")
TABLES = ("companies", "people", "quarantine")
BAD_EVERY = 500  # every 500th person has a bad email (quarantined)
POINTS = {
    "before_copy": "raw_intake_staging.people",
    "before_merge": "raw_intake.people",
}


def with_db(url: str, dbname: str) -> str:
    return urlsplit(url)._replace(path=f"/{dbname}").geturl()


def write_files(folder: Path, people: int, companies: int) -> dict[str, Path]:
    """Companies (CSV) and people (JSONL), every ``BAD_EVERY``-th person quarantined."""
    folder.mkdir(parents=True, exist_ok=True)
    companies_file, people_file = folder / "companies.csv", folder / "people.jsonl"
    with companies_file.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["company_name", "website_url", "linkedin_url", "renewal_month"])
        for i in range(companies):
            w.writerow([f"Company {i} Inc", f"https://www.company{i}.com", f"https://www.linkedin.com/company/c-{i}", i % 12 + 1])  # fmt: skip
    with people_file.open("w") as f:
        for i in range(people):
            c = i % companies
            row = {"full_name": f"Person {i}", "title": "Engineer", "email": f"p{i}@company{c}.com", "linkedin_url": f"https://www.linkedin.com/in/person-{i}", "company_website": f"company{c}.com"}  # fmt: skip
            if i % BAD_EVERY == 7:
                row["email"] = "not-an-email"
            f.write(json.dumps(row) + "\n")
    return {"companies": companies_file, "people": people_file, "state": folder / "state"}


def expected_counts(people: int) -> dict[str, int]:
    bad = sum(1 for i in range(people) if i % BAD_EVERY == 7)
    return {"people": people - bad, "quarantine": bad}


def _command(files: dict[str, Path]) -> list[str]:
    return [OUTREACH, "load", "intake", "--companies", str(files["companies"]), "--people", str(files["people"])]  # fmt: skip


def _env(url: str, files: dict[str, Path]) -> dict[str, str]:
    return {**os.environ, "OUTREACH_DATABASE_URL": url, "OUTREACH_STATE_DIR": str(files["state"])}


def load(url: str, files: dict[str, Path], timeout: float = 1800) -> subprocess.CompletedProcess:
    """One ``outreach load intake`` run to its end."""
    return subprocess.run(
        _command(files), env=_env(url, files), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout
    )  # fmt: skip


def start_load(url: str, files: dict[str, Path]) -> subprocess.Popen:
    """An ``outreach load intake`` run in its own process group (kill it with killpg)."""
    return subprocess.Popen(
        _command(files),
        env=_env(url, files),
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def landed(url: str) -> dict[str, tuple[int, str]]:
    """(row count, md5 of the rows in key order) per raw_intake table; load times and dlt
    load ids left out (they differ between any two runs). Fails on a duplicate key."""
    out = {}
    with psycopg.connect(url) as conn:
        for table in TABLES:
            out[table] = conn.execute(
                f"""
                select count(*), count(distinct _row_key),
                       md5(string_agg((to_jsonb(t) - '_loaded_at' - '_dlt_load_id')::text, '|'
                                      order by _row_key))
                from raw_intake.{table} t
                """
            ).fetchone()
    for table, (n, distinct, _md5) in out.items():
        assert n == distinct, f"duplicate _row_key in raw_intake.{table}"
    return {table: (n, md5) for table, (n, _d, md5) in out.items()}


@contextmanager
def blocked_at(url: str, point: str) -> Iterator[psycopg.Connection]:
    """Hold an EXCLUSIVE lock on the table of ``point`` (see POINTS) until the block
    ends; a load started inside waits at that point."""
    table = POINTS[point]
    conn = psycopg.connect(url)
    try:
        conn.execute(f"lock table {table} in exclusive mode")
        yield conn
    finally:
        try:
            conn.rollback()
            conn.close()
        except psycopg.Error:
            pass  # the server may be gone (a restart test)


def wait_until_waiting(
    url: str, proc: subprocess.Popen, holder: psycopg.Connection, timeout: float = 600
) -> str:
    """Block until the loader's statement waits on the lock ``holder`` holds; return that
    statement's first words. The loader is polled, not timed: it reaches the point at
    its own speed, and failing to reach it (exit, deadline) fails loudly."""
    dbname = urlsplit(url).path.lstrip("/")
    holder_pid = holder.info.backend_pid
    deadline = time.monotonic() + timeout
    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"the load ended before the lock: {proc.communicate()}")
            row = conn.execute(
                """
                select query from pg_stat_activity
                where datname = %s and wait_event_type = 'Lock'
                  and %s = any(pg_blocking_pids(pid))
                limit 1
                """,
                (dbname, holder_pid),
            ).fetchone()
            if row:
                return " ".join(row[0].split()[:6])
            time.sleep(0.05)  # polling a real process: the interval, not a clock
    raise AssertionError("the loader never reached the locked table")


def normalized_packages(url: str, files: dict[str, Path]) -> list[Path]:
    """The load packages dlt has normalized and not yet completed for this database."""
    dbname = urlsplit(url).path.lstrip("/")
    return list((files["state"] / "dlt").glob(f"{dbname}-*/intake/load/normalized/*"))


def schema_exists(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return bool(conn.execute("select to_regclass('raw_intake.people')").fetchone()[0])


def prepare(url: str, files: dict[str, Path]) -> None:
    """Create the empty raw_intake tables as a first ``outreach dbt`` would, with the
    loader's own dlt working folder (the one later runs use)."""
    code = "import sys; from loaders.intake.run import ensure_raw_tables; ensure_raw_tables(sys.argv[1])"
    subprocess.run(
        [sys.executable, "-c", code, url], env=_env(url, files), cwd=PROJECT_ROOT, check=True, timeout=600
    )  # fmt: skip
