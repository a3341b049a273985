"""Faults during a load (issue 8): the intake loader killed with SIGKILL mid-load, and the
warehouse restarted mid-run. The loader runs as a real `outreach load intake` process on a
file big enough (200,000 people) to be caught mid-load; the next run must converge to what
an uninterrupted run lands: same row count, same checksum of the landed rows."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from outreach.settings import PROJECT_ROOT, load_settings
from outreach.warehouse import embedded_server

pytestmark = pytest.mark.slow

OUTREACH = str(Path(sys.executable).parent / "outreach")
PEOPLE = 200_000
COMPANIES = 2_000
TABLES = ("companies", "people", "quarantine")
# OUTREACH_DATABASE_URL as the suite was started (fixtures change it later)
EXTERNAL = bool(os.environ.get("OUTREACH_DATABASE_URL"))


def _with_db(url: str, dbname: str) -> str:
    return urlsplit(url)._replace(path=f"/{dbname}").geturl()


@pytest.fixture
def databases(server_url):
    """Factory of fresh databases on the test server, dropped afterwards."""
    made: list[str] = []

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        made.append(name)
        return _with_db(server_url, name)

    yield make
    with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
        for name in made:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Companies (CSV) and 200k people (JSONL), a few of them bad (quarantined)."""
    folder = tmp_path_factory.mktemp("faults")
    companies, people = folder / "companies.csv", folder / "people.jsonl"
    with companies.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["company_name", "website_url", "linkedin_url", "renewal_month"])
        for i in range(COMPANIES):
            w.writerow([f"Company {i} Inc", f"https://www.company{i}.com", f"https://www.linkedin.com/company/c-{i}", i % 12 + 1])  # fmt: skip
    with people.open("w") as f:
        for i in range(PEOPLE):
            c = i % COMPANIES
            row = {"full_name": f"Person {i}", "title": "Engineer", "email": f"p{i}@company{c}.com", "linkedin_url": f"https://www.linkedin.com/in/person-{i}", "company_website": f"company{c}.com"}  # fmt: skip
            if i % 10_000 == 7:
                row["email"] = "not-an-email"  # quarantined
            f.write(json.dumps(row) + "\n")
    return {"companies": companies, "people": people, "state": folder / "state"}


def _command(files: dict[str, Path]) -> list[str]:
    return [OUTREACH, "load", "intake", "--companies", str(files["companies"]), "--people", str(files["people"])]  # fmt: skip


def _env(url: str, files: dict[str, Path]) -> dict[str, str]:
    return {**os.environ, "OUTREACH_DATABASE_URL": url, "OUTREACH_STATE_DIR": str(files["state"])}


def load(url: str, files: dict[str, Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        _command(files), env=_env(url, files), cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600
    )  # fmt: skip


def start_load(url: str, files: dict[str, Path]) -> subprocess.Popen:
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
    load ids left out (they differ between any two runs)."""
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


def wait_until_loading(url: str, proc: subprocess.Popen, timeout: float = 300) -> str:
    """Block until the loader writes into the database (a COPY/INSERT/MERGE of raw_intake
    by another session); returns that statement's first words."""
    dbname = urlsplit(url).path.lstrip("/")
    deadline = time.monotonic() + timeout
    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"the load ended before it was caught: {proc.communicate()}"
            row = conn.execute(
                """
                select query from pg_stat_activity
                where datname = %s and state = 'active' and pid <> pg_backend_pid()
                  and (query ilike 'copy %%' or query ilike '%%insert into%%raw_intake%%'
                       or query ilike '%%merge into%%raw_intake%%')
                limit 1
                """,
                (dbname,),
            ).fetchone()
            if row:
                return " ".join(row[0].split()[:4])
            time.sleep(0.02)
    raise AssertionError("the loader never started writing")


@pytest.fixture(scope="module")
def reference(server_url, files) -> dict[str, tuple[int, str]]:
    """What an uninterrupted run lands."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _with_db(server_url, name)
    try:
        started = time.perf_counter()
        result = load(url, files)
        assert result.returncode == 0, result.stderr
        print(f"\nuninterrupted load of {PEOPLE:,} people: {time.perf_counter() - started:.1f} s")
        expected = landed(url)
    finally:
        with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
    assert expected["people"][0] == PEOPLE - PEOPLE // 10_000
    assert expected["quarantine"][0] == PEOPLE // 10_000
    return expected


def wait_until_normalized(url: str, files: dict[str, Path], proc: subprocess.Popen) -> str:
    """Block until dlt has a normalized load package on disk (nothing in the database yet)."""
    dbname = urlsplit(url).path.lstrip("/")
    pattern = f"{dbname}-*/intake/load/normalized/*"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the load ended before it was caught: {proc.communicate()}"
        if list((files["state"] / "dlt").glob(pattern)):
            return "normalized package"
        time.sleep(0.02)
    raise AssertionError("no load package appeared")


@pytest.mark.parametrize("moment", ["package_normalized", "rows_being_written"])
def test_a_loader_killed_with_sigkill_mid_load_then_rerun_lands_every_row_once(
    databases, files, reference, moment
):
    url = databases()
    proc = start_load(url, files)
    try:
        if moment == "package_normalized":
            caught = wait_until_normalized(url, files, proc)
        else:
            caught = wait_until_loading(url, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the whole process group, mid-statement
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, caught
    partial = landed(url) if _schema_exists(url) else {}
    assert partial != reference  # it really was interrupted

    result = load(url, files)
    assert result.returncode == 0, result.stderr
    assert "dropping an unfinished earlier load" in result.stdout  # the killed run's package
    assert landed(url) == reference
    # and a further run changes nothing
    assert load(url, files).returncode == 0
    assert landed(url) == reference


@pytest.mark.embedded_only
@pytest.mark.skipif(EXTERNAL, reason="needs the embedded server (restarts it)")
def test_a_warehouse_restart_mid_load_fails_the_run_clearly_and_the_next_run_recovers(
    databases, files, reference
):
    server = embedded_server(load_settings())
    assert server.status().running
    url = databases()
    proc = start_load(url, files)
    try:
        wait_until_loading(url, proc)
        assert server.stop()  # fast shutdown: the loader's connection is cut mid-statement
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        server.start()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=60)
    assert proc.returncode == 1, (stdout, stderr)
    # dlt logs each failed job on the way; the run ends on one line that says what happened
    message = stderr[stderr.rfind("\nerror: ") + 1 :]
    assert message.startswith("error: loading into raw_intake failed at step load"), stderr[-3000:]
    assert "server" in message or "connection" in message, message
    assert "Traceback" not in message and "run the load again" in message, message
    print(f"\nthe interrupted run ended with: {message[:400]}")

    result = load(url, files)
    assert result.returncode == 0, result.stderr
    assert landed(url) == reference


def _schema_exists(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return bool(conn.execute("select to_regclass('raw_intake.people')").fetchone()[0])
