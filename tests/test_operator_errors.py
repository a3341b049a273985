"""Operator mistakes are not pipeline errors (issue 16 item 3).

A missing intake file, an unset API key or a webhook URL without its secret fail the
command with one clear line and exit code 2, and leave no event and no error in
``raw_ops`` (so no error rate counts them and no ops alert fires). A run the open circuit
breaker skipped is recorded ``skipped``, not as an error. Through the real CLI, against a
real PostgreSQL and a real webhook receiver on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest

from outreach import events as ev
from outreach.settings import PROJECT_ROOT
from testing.receiver import WebhookReceiver

OUTREACH = str(Path(sys.executable).parent / "outreach")
SECRET = "whsec-operator-test-5b21c7"
CONFIG = (
    "APIFY_TOKEN",
    "MILLIONVERIFIER_API_KEY",
    "LINKEDIN_ACCESS_TOKEN",
    "LINKEDIN_AD_ACCOUNTS",
    "OUTREACH_TEST_MODE",
    "PLE_WEBHOOK_URL",
    "ALERT_WEBHOOK_URL",
    "OUTREACH_WEBHOOK_SECRET",
    "OUTREACH_EXPORT_BREAKER_COOLDOWN_S",
)


def cli(url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in CONFIG}
    return subprocess.run(
        [OUTREACH, *args],
        env={**base, "OUTREACH_DATABASE_URL": url, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ops_rows(url: str) -> tuple[list[tuple], list[tuple]]:
    ev.ensure_raw_tables(url)
    with psycopg.connect(url) as conn:
        events = conn.execute(
            "select event_type, status, payload from raw_ops.pipeline_events order by event_id"
        ).fetchall()
        errors = conn.execute(
            "select event_type, error_message from raw_ops.pipeline_errors order by error_id"
        ).fetchall()
    return events, errors


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (
            ["load", "intake", "--companies", "no/such/companies.csv"],
            {},
            "no/such/companies.csv: file not found",
        ),
        (
            ["load", "apify-linkedin", "--from-file", "no/such/dataset.json"],
            {},
            "no such dataset file: no/such/dataset.json",
        ),
        (
            ["load", "linkedin-ads"],
            {"LINKEDIN_AD_ACCOUNTS": "507404993"},
            "LINKEDIN_ACCESS_TOKEN is not set",
        ),
        (["load", "millionverifier", "--emails", "{emails}"], {}, "MILLIONVERIFIER_API_KEY"),
        (
            ["export", "ple"],
            {"PLE_WEBHOOK_URL": "http://127.0.0.1:9/hook"},
            "OUTREACH_WEBHOOK_SECRET",
        ),
    ],
    ids=[
        "missing-intake-file",
        "missing-dataset-file",
        "linkedin-token",
        "verifier-key",
        "no-secret",
    ],
)
def test_operator_mistake_exits_2_with_one_line_and_records_nothing(
    fresh_warehouse, tmp_path, args, env, expected
):
    emails = tmp_path / "emails.txt"
    emails.write_text("someone@example.com\n")
    args = [a.replace("{emails}", str(emails)) for a in args]
    ev.ensure_raw_tables(fresh_warehouse)

    result = cli(fresh_warehouse, *args, **env)

    assert result.returncode == 2, (result.stdout, result.stderr)
    assert expected in one_error_line(result)
    events, errors = ops_rows(fresh_warehouse)
    assert errors == []
    assert [e for e in events if e[1] != "processed"] == []  # no failed (nor pending) event


def test_export_json_prints_an_error_object_on_a_config_error(fresh_warehouse):
    result = cli(fresh_warehouse, "export", "alerts", "--json")
    assert result.returncode == 2
    error = json.loads(result.stdout)
    assert error["target"] == "alerts" and error["kind"] == "config_error"
    assert error["exit_code"] == 2 and "ALERT_WEBHOOK_URL is not set" in error["error"]
    assert ops_rows(fresh_warehouse) == ([], [])


def test_a_real_failure_is_still_a_pipeline_error(fresh_warehouse, tmp_path):
    """The counterpart: a step that really failed keeps its failed event and error."""
    with pytest.raises(RuntimeError), ev.recording(fresh_warehouse, "load.intake"):
        raise RuntimeError("the vendor answered 500")
    events, errors = ops_rows(fresh_warehouse)
    assert [e[:2] for e in events] == [("load.intake", "failed")]
    assert errors == [("load.intake", "RuntimeError: the vendor answered 500")]


@pytest.fixture
def outbox(fresh_warehouse, ple_outbox_table):
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        ple_outbox_table(conn)
        for n in range(5):
            payload = {"person_id": f"p{n}", "change_type": "promotion", "intel_id": f"i{n}"}
            conn.execute(
                "insert into marketing.ple_enqueue_outbox values (%s, %s, 'c1', 'promotion',"
                " 'high', %s, timestamptz '2026-01-01 00:00:00+00' + %s * interval '1 minute')",
                (f"i{n}", f"p{n}", json.dumps(payload), n),
            )
    return fresh_warehouse


def test_a_run_skipped_by_the_open_breaker_is_skipped_not_an_error(outbox):
    with WebhookReceiver(SECRET) as receiver:
        receiver.fail_next(100, status=503)
        env = {
            "PLE_WEBHOOK_URL": receiver.url,
            "OUTREACH_WEBHOOK_SECRET": SECRET,
        }
        opened = cli(outbox, "export", "ple", "--json", **env)
        assert opened.returncode == 3, opened.stderr
        assert json.loads(opened.stdout)["breaker_open"] is True
        skipped = cli(outbox, "export", "ple", "--json", **env)
        assert skipped.returncode == 3, skipped.stderr
        report = json.loads(skipped.stdout)
        assert report["attempts"] == 0 and "circuit breaker open" in report["stopped"]
        sent = len(receiver.received)

    events, errors = ops_rows(outbox)
    assert [e[:2] for e in events] == [("export.ple", "failed"), ("export.ple", "skipped")]
    assert "circuit breaker open" in events[1][2]["skipped"]
    assert len(errors) == 1 and "circuit breaker opened" in errors[0][1]  # the real failure
    assert sent == 3  # the skipped run sent nothing


@pytest.mark.slow
def test_a_dagster_run_that_failed_on_an_operator_mistake_is_not_recorded(
    fresh_warehouse, run_failure_sensor
):
    import dagster as dg

    from loaders.intake.helpers import IntakeFileError

    @dg.asset
    def intake_step() -> None:
        raise IntakeFileError("companies.csv: file not found")

    run_failure_sensor(intake_step)
    assert ops_rows(fresh_warehouse) == ([], [])


@pytest.mark.slow
def test_a_dagster_run_the_open_breaker_skipped_is_recorded_skipped(
    fresh_warehouse, run_failure_sensor
):
    import dagster as dg

    from orchestration.assets.exports import raise_if_unavailable

    report = SimpleNamespace(
        stopped="circuit breaker open for ple: 3 consecutive failures",
        pending_after=5,
        breaker_open=True,
        attempts=0,
    )

    @dg.asset
    def ple_step() -> None:
        raise_if_unavailable(report, {}, "export ple")

    run_failure_sensor(ple_step)
    events, errors = ops_rows(fresh_warehouse)
    assert [e[:2] for e in events] == [("dagster.run", "skipped")] and errors == []
    assert "circuit breaker open" in events[0][2]["skipped"]
