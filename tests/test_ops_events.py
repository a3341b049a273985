"""Pipeline events and errors (outreach/events.py): the recorder, its hooks in the loaders
and dbt runs, resolving errors from the command line, recording that never breaks a step,
and the Dagster run-failure sensor recording a real failed run."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from outreach import events as ev
from outreach.settings import PROJECT_ROOT

INTAKE = Path(__file__).parent / "fixtures" / "intake"


def rows(url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def events(url: str) -> list[tuple]:
    return rows(
        url,
        "select event_id, event_type, status, processed_at is not null, payload"
        " from raw_ops.pipeline_events order by event_id",
    )


def errors(url: str) -> list[tuple]:
    return rows(
        url,
        "select error_id, event_id, event_type, record_id, error_message, severity, resolved"
        " from raw_ops.pipeline_errors order by error_id",
    )


def test_tables_are_created_empty_once_and_listed_before_dbt_builds(fresh_warehouse):
    from orchestration.raw_tables import raw_table_owners

    assert ev.ensure_raw_tables in dict(raw_table_owners()).values()
    assert ev.ensure_raw_tables(fresh_warehouse) is True
    assert ev.ensure_raw_tables(fresh_warehouse) is False
    assert events(fresh_warehouse) == [] and errors(fresh_warehouse) == []


def test_event_moves_pending_to_processed_and_error_resolves_once(fresh_warehouse):
    url = fresh_warehouse
    event_id = ev.record_event(url, "export.alerts", {"target": "alerts"})
    assert events(url) == [(event_id, "export.alerts", "pending", False, {"target": "alerts"})]
    assert ev.mark_processed(url, event_id, {"sent": 3})
    assert events(url)[0][2:] == ("processed", True, {"target": "alerts", "sent": 3})

    error_id = ev.record_error(url, "export.alerts", "row-17", "receiver said 400", "warning")
    assert errors(url) == [
        (error_id, None, "export.alerts", "row-17", "receiver said 400", "warning", False)
    ]
    assert ev.resolve_error(url, error_id) is True
    assert ev.resolve_error(url, error_id) is False  # already resolved: resolved_at kept
    assert errors(url)[0][-1] is True


def test_bad_status_or_severity_is_refused_by_the_strict_api_and_logged_by_the_safe_one(
    fresh_warehouse, caplog
):
    with pytest.raises(ValueError):
        ev.add_event(fresh_warehouse, "x", status="done")
    with pytest.raises(ValueError):
        ev.add_error(fresh_warehouse, "x", None, "m", severity="fatal")
    with caplog.at_level(logging.WARNING, logger="outreach.events"):
        assert ev.record_error(fresh_warehouse, "x", None, "m", "fatal") is None
    assert "could not record error" in caplog.text


def test_recording_never_fails_the_step_when_the_warehouse_is_unreachable(caplog):
    dead = "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2"
    with caplog.at_level(logging.WARNING, logger="outreach.events"):
        with ev.recording(dead, "load.intake") as event:
            event.update(rows=5)
            result = "step ran"
        assert ev.record_event(dead, "load.intake") is None
        assert ev.mark_processed(dead, 1) is False
    assert result == "step ran"
    assert "could not record event" in caplog.text


def test_a_step_that_raises_is_a_failed_event_and_an_error_and_the_exception_propagates(
    fresh_warehouse,
):
    url = fresh_warehouse

    @ev.recorded("load.example")
    def step(*, database_url: str | None = None, trigger: str = "manual"):
        raise RuntimeError("vendor said no")

    with pytest.raises(RuntimeError, match="vendor said no"):
        step(database_url=url, trigger="scheduled")
    [(event_id, event_type, status, ended, payload)] = events(url)
    assert (event_type, status, ended) == ("load.example", "failed", True)
    assert payload == {"step": "step", "trigger": "scheduled", "error_kind": "RuntimeError"}
    [(_, err_event, err_type, record_id, message, severity, resolved)] = errors(url)
    assert (err_event, err_type, record_id) == (event_id, "load.example", str(event_id))
    assert message == "RuntimeError: vendor said no"
    assert (severity, resolved) == ("error", False)


def test_error_messages_never_keep_a_secret(fresh_warehouse, monkeypatch):
    monkeypatch.setenv("APIFY_TOKEN", "apify_api_SECRET123")
    ev.record_error(fresh_warehouse, "load.apify_linkedin", None, "401 for apify_api_SECRET123")
    assert errors(fresh_warehouse)[0][4] == "401 for ***"


def test_an_intake_load_records_a_processed_event_with_its_summary(fresh_warehouse):
    from loaders.intake.run import load_intake_files

    load_intake_files(INTAKE / "companies.csv", INTAKE / "people.csv", progress=lambda _m: None)
    [(_, event_type, status, ended, payload)] = events(fresh_warehouse)
    assert (event_type, status, ended) == ("load.intake", "processed", True)
    assert payload["step"] == "load_intake_files"
    assert payload["summary"]["entities"], payload


def test_a_failed_dbt_command_is_a_failed_dbt_event_and_an_error(fresh_warehouse):
    from app.dbt import run_dbt

    done = run_dbt(["run", "-s", "no_such_model_anywhere+"], check=False, capture=True)
    # dbt exits 0 when the selection is empty: a processed event; a bad flag fails
    failed = run_dbt(["run", "--no-such-flag"], check=False, capture=True)
    assert done.returncode == 0 and failed.returncode != 0
    recorded = [(t, s, p["returncode"]) for _, t, s, _, p in events(fresh_warehouse)]
    assert recorded == [
        ("dbt.run", "processed", 0),
        ("dbt.run", "failed", failed.returncode),
    ]
    [error] = errors(fresh_warehouse)
    assert error[2] == "dbt.run" and "--no-such-flag" in error[4]


def test_cli_lists_unresolved_errors_and_resolves_them(fresh_warehouse):
    error_id = ev.record_error(fresh_warehouse, "load.millionverifier", "run-1", "credits ran out")
    cli = [sys.executable, "-m", "app.cli", "ops"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*cli, *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
        )

    listed = run("errors")
    assert listed.returncode == 0 and "credits ran out" in listed.stdout
    assert "1 unresolved error(s)" in listed.stdout
    resolved = run("resolve-error", str(error_id))
    assert resolved.returncode == 0, resolved.stderr
    assert f"error {error_id}: resolved" in resolved.stdout
    again = run("resolve-error", str(error_id))
    assert again.returncode == 1 and "already resolved" in again.stdout
    assert "0 unresolved error(s)" in run("errors").stdout


@pytest.mark.slow
def test_run_failure_sensor_records_a_real_failed_dagster_run(fresh_warehouse, run_failure_sensor):
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.sensors import pipeline_run_failures

    assert pipeline_run_failures.name in {s.name for s in defs.sensors}

    @dg.asset
    def flaky_step() -> None:
        raise RuntimeError("the vendor API answered 503")

    result = run_failure_sensor(flaky_step)

    run_id = result.dagster_run.run_id
    [(event_id, event_type, status, ended, payload)] = events(fresh_warehouse)
    assert (event_type, status, ended) == ("dagster.run", "failed", True)
    assert payload["run_id"] == run_id and payload["failed_steps"] == ["flaky_step"]
    [(_, err_event, err_type, record_id, message, severity, resolved)] = errors(fresh_warehouse)
    assert (err_event, err_type, record_id, severity, resolved) == (
        event_id,
        "dagster.run",
        run_id,
        "error",
        False,
    )
    assert "flaky_step" in message and "the vendor API answered 503" in message


KILLED_STEP = """
import sys
from outreach.events import recording
with recording(sys.argv[1], "load.killed", {"step": "killed"}):
    print("recording", flush=True)
    sys.stdin.read()  # blocks until the test kills us
"""


def test_a_killed_run_is_closed_as_abandoned_by_the_next_recorded_step(fresh_warehouse):
    url = fresh_warehouse
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_STEP, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    try:
        assert proc.stdout.readline().strip() == "recording"
    finally:
        proc.kill()  # SIGKILL: no chance to say anything
        proc.wait(timeout=30)
    [(killed_id, _, status, ended, payload)] = events(url)
    assert (status, ended, payload) == ("pending", False, {"step": "killed"})
    [(runner,)] = rows(url, "select runner from raw_ops.pipeline_events")
    assert runner["pid"] == proc.pid and runner["host"]

    with ev.recording(url, "load.intake") as event:
        event.update(rows=1)
    by_id = {e[0]: e for e in events(url)}
    assert by_id[killed_id][2:4] == ("abandoned", True)
    assert by_id[killed_id][4]["abandoned"] == f"process {proc.pid} is gone"
    assert [e[2] for e in by_id.values() if e[0] != killed_id] == ["processed"]


def test_a_live_run_stays_pending_and_an_old_foreign_one_is_abandoned(fresh_warehouse):
    from datetime import UTC, datetime, timedelta

    url = fresh_warehouse
    clock = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    mine = ev.add_event(url, "load.intake", created_at=clock - timedelta(hours=30))  # alive
    foreign = ev.add_event(url, "load.intake", created_at=clock - timedelta(hours=25))
    recent = ev.add_event(url, "load.intake", created_at=clock - timedelta(hours=1))
    with psycopg.connect(url) as conn:
        conn.execute(
            'update raw_ops.pipeline_events set runner = runner || \'{"host": "elsewhere"}\''
            " where event_id in (%s, %s)",
            (foreign, recent),
        )
    assert ev.close_abandoned(url, now=clock) == [foreign]
    status = {e[0]: e[2] for e in events(url)}
    assert status == {mine: "pending", foreign: "abandoned", recent: "pending"}
    reason = {e[0]: e[4] for e in events(url)}[foreign]["abandoned"]
    assert reason == "still pending after 24 h"


def test_an_events_table_of_an_older_version_learns_abandoned(fresh_warehouse):
    url = fresh_warehouse
    ev.ensure_raw_tables(url)
    with psycopg.connect(url) as conn:
        conn.execute(
            "alter table raw_ops.pipeline_events drop column runner,"
            " drop constraint pipeline_events_status_check,"
            " add constraint pipeline_events_status_check"
            " check (status in ('pending', 'processed', 'failed'))"
        )
        conn.execute(
            "insert into raw_ops.pipeline_events (event_type, created_at)"
            " values ('load.intake', now() - interval '2 days')"
        )
    ev._UPGRADED.discard(url)
    [closed] = ev.close_abandoned(url)
    assert events(url)[0][2] == "abandoned" and closed == events(url)[0][0]
