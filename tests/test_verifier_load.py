"""The MillionVerifier loader end to end into a real PostgreSQL (no dbt): answers land in
raw_verifier with their check time, runs are recorded, every stop is clear, the CLI's exit
codes, and the API key never reaches the warehouse, the output or the logs."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from loaders.millionverifier.run import VerifierConfigError, ensure_raw_tables, verify_emails
from testing.millionverifier import ENDPOINTS, MillionVerifierTestServer

KEY = "mv-load-secret-9f8e7d6c5b4a"
OUTREACH = str(Path(sys.executable).parent / "outreach")


@pytest.fixture(scope="module")
def server():
    with MillionVerifierTestServer(api_key=KEY) as srv:
        yield srv


@pytest.fixture(autouse=True)
def vendor_env(monkeypatch, server, tmp_path):
    """Test mode against this module's server, with a key that must never leak."""
    # a request an earlier test gave up on (timeout) may still be sleeping on the server;
    # let it finish before credits are counted
    deadline = time.monotonic() + 5
    while server.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    monkeypatch.setenv("OUTREACH_TEST_MODE", "true")
    monkeypatch.setenv("MILLIONVERIFIER_BASE_URL", server.base_url)
    monkeypatch.setenv("MILLIONVERIFIER_API_KEY", KEY)
    server.configure(
        credits=None,
        rate_limit_count=0,
        error_count=0,
        garbage_count=0,
        latency_s=0.0,
        timeout_s=2.5,
        retry_after_s=None,
        fault_endpoints=ENDPOINTS,
    )
    server.reset_counters()


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def captured_logs():
    capture = _Capture()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(capture)
    yield capture.lines
    root.removeHandler(capture)
    root.setLevel(level)


def run(warehouse, tmp_path, emails, printed=None, **kw):
    return verify_emails(
        emails,
        database_url=warehouse,
        progress=(printed.append if printed is not None else lambda _m: None),
        pipelines_dir=tmp_path / "dlt",
        **kw,
    )


def rows(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or None).fetchall()


def test_raw_tables_exist_empty_before_any_run(fresh_warehouse, tmp_path):
    warehouse = fresh_warehouse  # an empty database: the module's has the raw tables already
    assert ensure_raw_tables(warehouse, tmp_path / "dlt") is True
    assert ensure_raw_tables(warehouse, tmp_path / "dlt") is False
    assert rows(warehouse, "select count(*) from raw_verifier.email_checks") == [(0,)]
    assert rows(warehouse, "select count(*) from raw_verifier.verification_runs") == [(0,)]


def test_answers_land_with_their_check_time_and_the_run_is_recorded(
    warehouse, tmp_path, server, captured_logs
):
    emails = [
        "OK.Ann@Acme.com ",  # stored trimmed and lowercased
        "catch_all.bob@acme.com",
        "unknown.cy@acme.com",
        "invalid.di@acme.com",
        "disposable.ed@acme.com",
        "error.fay@acme.com",
        "timeout.gus@acme.com",  # never answers in time: unanswered, stays due
        "ok.ann@acme.com",  # a duplicate of the first
    ]
    server.configure(rate_limit_count=2, error_count=1, fault_endpoints=["verify"])
    started = datetime.now(UTC)
    printed: list[str] = []
    summary = run(
        warehouse, tmp_path, emails, printed, http_timeout_s=0.5, concurrency=3,
        retry=_fast_retry(),
    )  # fmt: skip
    assert summary.requested == 7
    assert summary.answered == 6
    assert summary.status == "partial"
    assert summary.unanswered == {"timeout": 1}
    assert summary.by_result == {
        "ok": 1, "catch_all": 1, "unknown": 1, "invalid": 1, "disposable": 1, "error": 1,
    }  # fmt: skip
    assert summary.http["http_429"] == 2 and summary.http["http_5xx"] == 1
    landed = rows(
        warehouse,
        "select email, result, quality, method, checked_at, run_id, source_url, response->>'result'"
        " from raw_verifier.email_checks where run_id = %s order by email",
        summary.run_id,
    )
    assert [r[0] for r in landed] == sorted(e.strip().lower() for e in emails[:6])
    for _email, result, _quality, method, checked_at, run_id, source_url, raw_result in landed:
        assert started <= checked_at <= datetime.now(UTC)
        assert run_id == summary.run_id and method == "single"
        assert source_url == f"{server.base_url}/api/v3/"
        assert raw_result == result
    (run_row,) = rows(
        warehouse,
        "select status, emails_requested, emails_answered, emails_unanswered, finished_at,"
        " error_message from raw_verifier.verification_runs where run_id = %s",
        summary.run_id,
    )
    assert run_row[:4] == ("partial", 7, 6, 1)
    assert run_row[4] is not None
    assert "stay in people.due_email_recheck_30d" in run_row[5]
    assert "answered 6" in summary.render()


def _fast_retry():
    # more attempts than the faults switched on: no email runs out of attempts on them
    return {"request_max_attempts": 4, "request_backoff_factor": 0}


def test_credits_running_out_lands_what_was_answered_and_says_so(warehouse, tmp_path, server):
    server.configure(credits=2)
    emails = [f"ok.credit{i}@acme.com" for i in range(5)]
    printed: list[str] = []
    summary = run(warehouse, tmp_path, emails, printed, concurrency=1)
    assert summary.status == "credits_exhausted"
    assert summary.answered == 2 and summary.not_attempted == 3
    assert summary.credits_left == 0
    assert "credits ran out: 2 of 5 emails verified, 3 not verified" in summary.message
    assert "Add credits" in summary.message
    assert any("credits ran out" in line for line in printed)
    landed = rows(
        warehouse,
        "select count(*) from raw_verifier.email_checks where run_id = %s",
        summary.run_id,
    )
    assert landed == [(2,)]
    # no credits at all: the preflight stops before any check is sent
    server.reset_counters()
    server.configure(credits=0)
    summary = run(warehouse, tmp_path, ["ok.none@acme.com"])
    assert summary.status == "credits_exhausted" and summary.answered == 0
    assert server.requests_for("verify") == []


def test_a_rejected_key_fails_the_run_without_a_check(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("MILLIONVERIFIER_API_KEY", KEY + "-revoked")
    summary = run(warehouse, tmp_path, ["ok.key@acme.com"])
    assert summary.status == "failed"
    assert "rejected the API key" in summary.message
    assert KEY not in summary.message


def test_large_batches_use_the_bulk_file_api(warehouse, tmp_path, server):
    server.configure(bulk_polls=1)
    emails = [f"person{i}@bulk{i % 3}.com" for i in range(12)] + ["invalid.bulk@acme.com"]
    summary = run(warehouse, tmp_path, emails, bulk_threshold=10, bulk_poll_interval_s=0.01)
    assert summary.method == "bulk" and summary.status == "completed"
    assert summary.answered == 13 and summary.bulk_file_id
    landed = rows(
        warehouse,
        "select count(*), count(distinct bulk_file_id), min(method), min(source_url)"
        " from raw_verifier.email_checks where run_id = %s",
        summary.run_id,
    )
    assert landed[0][:3] == (13, 1, "bulk")
    assert landed[0][3].endswith(f"file_id={summary.bulk_file_id}&filter=all")
    assert len(server.requests_for("upload")) == 1


def test_a_check_is_history_a_second_run_adds_rows(warehouse, tmp_path):
    first = run(warehouse, tmp_path, ["ok.twice@acme.com"])
    second = run(warehouse, tmp_path, ["ok.twice@acme.com"])
    assert first.run_id != second.run_id
    landed = rows(
        warehouse,
        "select count(*) from raw_verifier.email_checks where email = 'ok.twice@acme.com'",
    )
    assert landed == [(2,)]


def test_without_emails_the_due_queue_must_exist(warehouse, tmp_path):
    with pytest.raises(VerifierConfigError, match="outreach dbt build"):
        verify_emails(database_url=warehouse, pipelines_dir=tmp_path / "dlt")


@pytest.mark.slow  # starts the outreach command in its own interpreter (~10 s)
def test_the_cli_verifies_a_file_and_exit_codes_say_how_it_ended(
    warehouse, tmp_path, server, capsys
):
    from app.cli import main

    emails = tmp_path / "emails.csv"
    emails.write_text("name,email\nAnn,ok.cli1@acme.com\nBob,invalid.cli2@acme.com\n")
    # one real process: the command as a user runs it
    proc = subprocess.run(
        [OUTREACH, "load", "millionverifier", "--emails", str(emails)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "completed" in proc.stdout and "answered 2" in proc.stdout
    # the other endings in-process (same code path, no second interpreter start-up)
    server.configure(credits=1)
    more = tmp_path / "more.txt"
    more.write_text("ok.cli3@acme.com\nok.cli4@acme.com\nok.cli5@acme.com\n")
    assert main(["load", "millionverifier", "--from-file", str(more), "--concurrency", "1"]) == 3
    out = capsys.readouterr()
    assert "credits ran out" in out.out
    # a missing file is an operator mistake: exit 2, not a pipeline error
    assert main(["load", "millionverifier", "--emails", str(tmp_path / "missing.txt")]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err
    assert KEY not in proc.stdout + proc.stderr + out.out + out.err + err


def test_the_key_is_never_in_the_warehouse_or_the_logs(
    warehouse, tmp_path, server, captured_logs, monkeypatch
):
    """A run with the key (with a retried 429 and an error body answer) and one with a wrong key
    (plus whatever other tests of this module ran before): scan every text and json column
    of every table in the database, and every log line."""
    server.configure(rate_limit_count=1, fault_endpoints=["verify"])
    emails = [f"ok.leak{i}@acme.com" for i in range(4)] + ["error.leak@acme.com"]
    summary = run(warehouse, tmp_path, emails, retry=_fast_retry())
    assert summary.answered == 5
    monkeypatch.setenv("MILLIONVERIFIER_API_KEY", KEY + "-wrong")
    assert run(warehouse, tmp_path, ["ok.leak9@acme.com"]).status == "failed"
    assert rows(warehouse, "select count(*) from raw_verifier.email_checks")[0][0] >= 5
    with psycopg.connect(warehouse) as conn:
        columns = conn.execute(
            """
            select c.table_schema, c.table_name, c.column_name
            from information_schema.columns c
            join information_schema.tables t
              on t.table_schema = c.table_schema and t.table_name = c.table_name
            where c.table_schema not in ('pg_catalog', 'information_schema')
              and t.table_type = 'BASE TABLE'
              and c.data_type in ('text', 'character varying', 'jsonb', 'json')
            """
        ).fetchall()
        assert len(columns) > 20
        for schema, table, column in columns:
            hits = conn.execute(
                f'select count(*) from "{schema}"."{table}" where "{column}"::text like %s',
                (f"%{KEY}%",),
            ).fetchone()[0]
            assert hits == 0, f"{schema}.{table}.{column} holds the API key"
    assert any("api=***" in line for line in captured_logs)
    assert not [line for line in captured_logs if KEY in line]
