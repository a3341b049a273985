"""Nothing hangs on the server (issue 15, item 3): builds run with a statement timeout, a
model that needs longer raises its own, and a stopped or killed dbt leaves no query behind.

Real PostgreSQL, real dbt (the test-only model ``slow_probe``, disabled unless its
environment variable is set: a new value re-parses that one file, where new --vars would
re-parse the whole project). Waits poll pg_stat_activity with a deadline; nothing sleeps for timing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from app.dbt import run_dbt
from outreach.dbt import dbt_env
from outreach.settings import PROJECT_ROOT
from outreach.warehouse import SettingError, session_options

pytestmark = pytest.mark.slow

OUTREACH = str(Path(sys.executable).parent / "outreach")
DBT = str(Path(sys.executable).parent / "dbt")


PROBE_ARGS = ["run", "--select", "slow_probe"]


def probe_env(seconds: float, timeout: str | None = None) -> dict[str, str]:
    """The environment that enables ``slow_probe`` and sets how long it sleeps."""
    return {
        "OUTREACH_TEST_SLOW_PROBE_SECONDS": str(seconds),
        "OUTREACH_TEST_SLOW_PROBE_TIMEOUT": timeout or "",
    }


def set_probe(monkeypatch, seconds: float, timeout: str | None = None) -> list[str]:
    for name, value in probe_env(seconds, timeout).items():
        monkeypatch.setenv(name, value)
    return PROBE_ARGS


def sleeping_queries(url: str) -> list[int]:
    """Backends of this database running the probe's pg_sleep (not this query itself)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select pid from pg_stat_activity where datname = current_database()"
            " and pid <> pg_backend_pid() and state = 'active' and query like %s",
            ("%pg_sleep(%",),
        ).fetchall()
    return [r[0] for r in rows]


def wait_until(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)  # polling interval, not a timing assumption
    raise AssertionError(f"not within {timeout_s:g} s: {what}")


@pytest.fixture
def fresh_env(fresh_warehouse):
    return {**os.environ, "OUTREACH_DATABASE_URL": fresh_warehouse}


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


# ---------------------------------------------------------------------------- the timeout
def test_builds_and_loads_get_the_configured_timeout(monkeypatch):
    monkeypatch.setenv("OUTREACH_STATEMENT_TIMEOUT", "90s")
    monkeypatch.setenv("OUTREACH_CLIENT_CHECK_INTERVAL", "2s")
    expected = "-c statement_timeout=90s -c client_connection_check_interval=2s"
    assert session_options() == expected
    monkeypatch.delenv("PGOPTIONS", raising=False)
    assert dbt_env("postgresql://u@127.0.0.1:5432/d")["PGOPTIONS"] == expected
    monkeypatch.setenv("OUTREACH_STATEMENT_TIMEOUT", "soon")
    with pytest.raises(SettingError, match="OUTREACH_STATEMENT_TIMEOUT='soon': expected"):
        session_options()


def test_a_statement_longer_than_the_timeout_fails_the_build(fresh_warehouse, monkeypatch):
    monkeypatch.setenv("OUTREACH_STATEMENT_TIMEOUT", "1s")
    done = run_dbt(set_probe(monkeypatch, 60), check=False, capture=True)
    assert done.returncode == 1
    assert "canceling statement due to statement timeout" in done.stdout
    assert sleeping_queries(fresh_warehouse) == []


def test_a_model_that_needs_longer_says_so_in_its_config(fresh_warehouse, monkeypatch):
    monkeypatch.setenv("OUTREACH_STATEMENT_TIMEOUT", "1s")
    done = run_dbt(set_probe(monkeypatch, 1.5, timeout="60s"), check=False, capture=True)
    assert done.returncode == 0, done.stdout[-2000:]
    with psycopg.connect(fresh_warehouse) as conn:
        assert conn.execute("select probe_id from intermediate.slow_probe").fetchall() == [(1,)]


def test_loads_run_with_the_timeout(fresh_warehouse, monkeypatch, tmp_path):
    from outreach.dlt_pipelines import warehouse_pipeline

    monkeypatch.setenv("OUTREACH_STATEMENT_TIMEOUT", "42s")
    pipeline = warehouse_pipeline(fresh_warehouse, "timeout_probe", "timeout_probe", tmp_path)
    with pipeline.sql_client() as client:
        assert client.execute_sql("show statement_timeout") == [("42s",)]
        assert client.execute_sql("show client_connection_check_interval") == [("5s",)]


# ------------------------------------------------------------------------- stop and kill
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_stopping_outreach_dbt_cancels_its_query_on_the_server(fresh_warehouse, fresh_env, how):
    """SIGTERM / SIGINT: forwarded to dbt as SIGINT, which cancels its queries; SIGKILL of
    outreach: the kernel ends dbt (parent-death signal; SIGTERM while its stdout is our
    progress pipe) and the server's client check cancels the orphaned query."""
    proc = start([OUTREACH, "dbt", *PROBE_ARGS], {**fresh_env, **probe_env(600)})
    try:
        wait_until(lambda: sleeping_queries(fresh_warehouse), 120, "the probe query started")
        proc.send_signal(how)
        # a deadline, not a wait: on an idle machine this takes a second or a client check
        # interval (SIGKILL); a loaded CI machine has taken more than 30 s
        wait_until(lambda: not sleeping_queries(fresh_warehouse), 120, "the query was cancelled")
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    if how != signal.SIGKILL:
        assert proc.returncode == 130, out[-2000:]
        assert "dbt stopped on" in out


def test_a_killed_outreach_started_with_sigterm_ignored_still_ends_its_dbt(
    fresh_warehouse, fresh_env
):
    """An ignored SIGTERM survives exec (nohup-style wrappers, some process managers, a
    test runner left so by another test): dbt must not inherit it, or the parent-death
    signal is lost and dbt outlives a SIGKILLed `outreach dbt`, query and all."""
    proc = subprocess.Popen(
        [OUTREACH, "dbt", *PROBE_ARGS],
        env={**fresh_env, **probe_env(600)},
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_IGN),
    )
    try:
        wait_until(lambda: sleeping_queries(fresh_warehouse), 120, "the probe query started")
        proc.kill()
        proc.communicate(timeout=60)
        wait_until(lambda: not sleeping_queries(fresh_warehouse), 120, "the query was cancelled")
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_killed_dbt_leaves_no_query_behind(fresh_warehouse, fresh_env, monkeypatch):
    """Plain dbt (``eval "$(outreach env)" && dbt run``), killed with SIGKILL: it cannot
    cancel anything; the server notices the closed connection within
    client_connection_check_interval and ends the query."""
    monkeypatch.setenv("OUTREACH_CLIENT_CHECK_INTERVAL", "1s")
    monkeypatch.delenv("PGOPTIONS", raising=False)
    env = {**fresh_env, **dbt_env(fresh_warehouse), **probe_env(600)}
    proc = subprocess.Popen(
        [DBT, *PROBE_ARGS],
        env=env,
        cwd=PROJECT_ROOT / "dbt_project",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: sleeping_queries(fresh_warehouse), 120, "the probe query started")
        psutil.Process(proc.pid).kill()
        proc.wait(timeout=30)
        wait_until(lambda: not sleeping_queries(fresh_warehouse), 30, "the query was ended")
    finally:
        if proc.poll() is None:
            proc.kill()


# ------------------------------------------------------------------- plans that stay put
def test_company_slot_stays_fast_whatever_autovacuum_has_analysed(
    fresh_warehouse, monkeypatch, tmp_path
):
    """The demo's 3,000 people: after ANALYZE of every key map and intermediate table (what
    autovacuum does at some point), company_slot is rebuilt within a 60 s statement
    timeout (it once re-ran a view per contact: more than 9 minutes)."""
    from app.demo_data import generate
    from loaders.intake.run import load_intake_files

    files = generate(tmp_path, companies=500, people=3000, seed=42)
    load_intake_files(files.companies, files.people, progress=lambda _m: None)
    first = run_dbt(
        ["build", "--select", "+company_slot", "--exclude-resource-type", "test", "unit_test"],
        check=False,
        capture=True,
    )
    assert first.returncode == 0, first.stdout[-3000:]
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        tables = conn.execute(
            "select format('%I.%I', schemaname, relname) from pg_stat_user_tables"
            " where schemaname in ('keymap', 'intermediate', 'raw_intake', 'raw_verifier')"
        ).fetchall()
        assert any(name == "keymap.int_person_keys" for (name,) in tables)
        assert any(name == "intermediate.int_person_records_deduplicated" for (name,) in tables)
        for (name,) in tables:
            conn.execute(f"analyze {name}")
    monkeypatch.setenv("OUTREACH_STATEMENT_TIMEOUT", "60s")
    again = run_dbt(["run", "--select", "company_slot"], check=False, capture=True)
    assert again.returncode == 0, again.stdout[-3000:]
    with psycopg.connect(fresh_warehouse) as conn:
        slots, filled = conn.execute(
            "select count(*), count(contact_id) from company.company_slot"
        ).fetchone()
        companies = conn.execute(
            "select count(*) from intermediate.int_company_records_deduplicated"
        ).fetchone()[0]
    assert slots == 3 * companies > 1000 and filled > 0
