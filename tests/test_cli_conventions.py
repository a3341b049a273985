"""The ``outreach`` command follows the conventions of dbt and dlt (issue 16 item 4):
``--version``, help when run bare, help text and exit codes on every command and option,
``ops errors`` with headers, full messages and ``--json``, export summaries whose counts
add up, ``gdpr erase`` with confirmation and ``--dry-run``, ``outreach env`` putting the
venv on PATH, ``db stop|status`` that know the embedded server whatever
OUTREACH_DATABASE_URL says, and bash completion. Through the real CLI, against a real
PostgreSQL and a real (absent) webhook receiver on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from app.cli import build_parser
from outreach import __version__
from outreach import events as ev
from outreach.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent
OUTREACH = str(BIN / "outreach")
INTAKE = Path(__file__).parent / "fixtures" / "intake"
SECRET = "whsec-cli-conventions-91d2"


def cli(*args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [OUTREACH, *args],
        env={**os.environ, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        input=input,
    )


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


# ---------------------------------------------------------------------------- help, version
def test_version_and_help_when_run_bare():
    version = cli("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"outreach {__version__}")
    bare = cli()
    assert bare.returncode == 0 and bare.stderr == ""
    assert bare.stdout.startswith("usage: outreach") and "exit codes:" in bare.stdout
    group = cli("db")
    assert group.returncode == 0 and group.stdout.startswith("usage: outreach db")
    assert "grant-reader" in group.stdout


def _walk(parser: argparse.ArgumentParser, path: str = "outreach"):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helped = {a.dest for a in action._choices_actions}
            for name, child in action.choices.items():
                assert name in helped, f"{path} {name} has no help text"
                yield from _walk(child, f"{path} {name}")


def test_every_command_and_option_has_help_and_every_command_lists_exit_codes():
    commands = list(_walk(build_parser()))
    assert len(commands) > 20
    for path, parser in commands:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, f"{path} {action.option_strings or action.dest} has no help"
        assert "exit codes:" in (parser.epilog or ""), f"{path} lists no exit codes"
    export = " ".join(dict(commands)["outreach export"].format_help().split())
    assert "2 not configured" in export and "4 the receiver refused" in export


# ---------------------------------------------------------------------------- ops errors
def test_ops_errors_prints_headers_full_messages_and_json(fresh_warehouse):
    long_message = "dbt build failed: " + "x" * 200 + "\nsecond line of the traceback"
    first = ev.add_error(fresh_warehouse, "dbt.build", 17, long_message)
    second = ev.add_error(fresh_warehouse, "load.intake", None, "short", severity="warning")

    table = cli("ops", "errors", OUTREACH_DATABASE_URL=fresh_warehouse)
    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert header.split() == [
        "error_id",
        "created_at",
        "severity",
        "event_type",
        "record_id",
        "message",
    ]
    assert ("x" * 200) in table.stdout and "second line of the traceback" in table.stdout
    assert "2 unresolved error(s)" in lines[-1]

    listed = cli("ops", "errors", "--json", OUTREACH_DATABASE_URL=fresh_warehouse)
    assert listed.returncode == 0
    records = json.loads(listed.stdout)
    assert [r["error_id"] for r in records] == [first, second]
    assert records[0]["message"] == long_message and records[0]["record_id"] == "17"
    assert records[1]["severity"] == "warning" and records[1]["record_id"] is None


# ---------------------------------------------------------------------------- export summary
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_export_summary_counts_add_up(fresh_warehouse, ple_outbox_table):
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        ple_outbox_table(conn)
        conn.execute(
            "insert into marketing.ple_enqueue_outbox select 'i' || n, 'p' || n, 'c1',"
            " 'promotion', 'high', jsonb_build_object('n', n),"
            " timestamptz '2026-01-01 00:00:00+00' + n * interval '1 minute'"
            " from generate_series(1, 230) n"
        )
    down = cli(
        "export",
        "ple",
        OUTREACH_DATABASE_URL=fresh_warehouse,
        PLE_WEBHOOK_URL=f"http://127.0.0.1:{free_port()}/hook",
        OUTREACH_WEBHOOK_SECRET=SECRET,
        OUTREACH_EXPORT_BREAKER_COOLDOWN_S="0",
    )
    assert down.returncode == 3, down.stdout + down.stderr
    line = next(x for x in down.stdout.splitlines() if x.startswith("ple ("))
    numbers = re.search(
        r"(\d+) rows pending: (\d+) delivered, (\d+) dead-lettered, (\d+) pending "
        r"\((\d+) failed and retried next run, (\d+) held behind a failed row, (\d+) not tried\)",
        line,
    )
    assert numbers, line
    before, delivered, dead, after, failed, held, untried = map(int, numbers.groups())
    assert before == 230 and before == delivered + dead + after
    assert after == failed + held + untried and failed >= 1


# ---------------------------------------------------------------------------- gdpr erase
@pytest.fixture
def loaded(fresh_warehouse, tmp_path, monkeypatch):
    from loaders.intake.run import load_intake_files

    monkeypatch.setenv("OUTREACH_STATE_DIR", str(tmp_path / "state"))
    load_intake_files(INTAKE / "companies.csv", INTAKE / "people.csv", progress=lambda _m: None)
    return fresh_warehouse


def _held(url: str) -> tuple[int, int]:
    people = rows(url, "select count(*) from raw_intake.people where email = 'jane@acme.com'")
    tombstones = rows(
        url,
        "select count(*) from information_schema.tables"
        " where table_schema = 'raw_ops' and table_name = 'gdpr_tombstones'",
    )
    if tombstones[0][0]:
        tombstones = rows(url, "select count(*) from raw_ops.gdpr_tombstones")
    return people[0][0], tombstones[0][0]


def test_gdpr_erase_refuses_without_a_terminal_or_yes_and_dry_run_changes_nothing(loaded):
    url = loaded
    erase = ("gdpr", "erase", "--email", "jane@acme.com", "--no-rebuild")
    before = _held(url)
    assert before[0] == 1

    refused = cli(*erase, input="", OUTREACH_DATABASE_URL=url)
    assert refused.returncode == 2
    assert "confirm with --yes" in refused.stderr and "--dry-run" in refused.stderr
    assert _held(url) == before

    dry = cli(*erase, "--dry-run", "--json", OUTREACH_DATABASE_URL=url)
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["dry_run"] is True and report["deleted"]["raw_intake.people"] == 1
    assert report["tombstones_added"] >= 1
    assert _held(url) == before  # nothing deleted, no tombstone kept

    text = cli(*erase, "--dry-run", OUTREACH_DATABASE_URL=url)
    assert text.stdout.startswith("DRY RUN, nothing changed")
    assert "jane@acme.com" not in text.stdout

    done = cli(*erase, "--yes", OUTREACH_DATABASE_URL=url)
    assert done.returncode == 0, done.stdout + done.stderr
    people, tombstones = _held(url)
    assert people == 0 and tombstones >= 1


def test_gdpr_erase_asks_on_a_terminal_and_stops_unless_told_erase(loaded):
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [OUTREACH, "gdpr", "erase", "--email", "jane@acme.com", "--no-rebuild"],
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "OUTREACH_DATABASE_URL": loaded},
            cwd=PROJECT_ROOT,
            text=True,
        )
        os.write(leader, b"no\n")
        _, err = proc.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    assert proc.returncode == 1 and "nothing erased" in err
    assert _held(loaded)[0] == 1


# ---------------------------------------------------------------------------- env, db
def test_env_puts_the_venv_bin_on_path_once(fresh_warehouse):
    path = "/usr/bin:/bin"
    script = f'eval "$({OUTREACH} env)"; command -v dbt; eval "$({OUTREACH} env)"; echo "$PATH"'
    result = subprocess.run(
        ["bash", "-c", script],
        env={**os.environ, "PATH": path, "OUTREACH_DATABASE_URL": fresh_warehouse},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    dbt, new_path = result.stdout.strip().splitlines()[-2:]
    assert dbt == str(BIN / "dbt")
    assert new_path.split(":").count(str(BIN)) == 1 and new_path.endswith(path)


@pytest.mark.slow
def test_db_stop_and_status_know_the_embedded_server_when_a_url_is_set(tmp_path):
    """An embedded server of its own (state dir under tmp_path), then status and stop with
    OUTREACH_DATABASE_URL set, as after `eval "$(outreach env)"`."""
    env = {k: v for k, v in os.environ.items() if k != "OUTREACH_DATABASE_URL"}
    env["OUTREACH_STATE_DIR"] = str(tmp_path / "state")

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [OUTREACH, "db", *args],
            env={**env, **extra},
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    started = run("start")
    assert started.returncode == 0, started.stderr
    try:
        url = run("url").stdout.strip()
        status = run("status", OUTREACH_DATABASE_URL=url)
        assert status.returncode == 0, status.stderr
        info = json.loads(status.stdout)
        assert info["mode"] == "external" and info["embedded"]["running"] is True
        assert ":***@" in info["url"] and url not in status.stdout  # no password printed
        stopped = run("stop", OUTREACH_DATABASE_URL=url)
        assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped"
        after = json.loads(run("status", OUTREACH_DATABASE_URL=url).stdout or "{}")
    finally:
        run("stop")
    assert after == {} or after.get("embedded", {}).get("running") is False


# ---------------------------------------------------------------------------- completion
def test_bash_completion_completes_commands_actions_and_options():
    script = cli("completion", "bash")
    assert script.returncode == 0

    def complete(*words: str) -> set[str]:
        line = " ".join(["outreach", *words])
        probe = (
            f"{script.stdout}\nCOMP_WORDS=({line}); COMP_CWORD={len(words)}; "
            '_outreach; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        return set(done.stdout.split())

    assert {"load", "gdpr", "export", "completion"} <= complete("")
    assert complete("db", "st") == {"start", "status", "stop"}
    assert {"--dry-run", "--yes"} <= complete("gdpr", "erase", "--")
    assert complete("export", "p") == {"ple"}


# ---------------------------------------------------------------------------- --json loads
def test_load_intake_json_prints_the_summary_as_json_and_progress_on_stderr(fresh_warehouse):
    args = ("load", "intake", "--companies", str(INTAKE / "companies.csv"))
    table = cli(
        *args, "--people", str(INTAKE / "people.csv"), OUTREACH_DATABASE_URL=fresh_warehouse
    )
    assert table.returncode == 0, table.stderr
    again = cli(
        *args,
        "--people",
        str(INTAKE / "people.csv"),
        "--json",
        OUTREACH_DATABASE_URL=fresh_warehouse,
    )
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["dataset"] == "raw_intake" and summary["new"] == 0
    assert summary["already_present"] == summary["loaded"] > 0
    assert "loading into raw_intake" in again.stderr


def test_load_apify_linkedin_json_prints_the_summary_as_json_and_progress_on_stderr(
    fresh_warehouse,
):
    dataset = Path(__file__).parent / "fixtures" / "apify" / "dataset_export.json"
    first = cli(
        "load", "apify-linkedin", "--from-file", str(dataset), OUTREACH_DATABASE_URL=fresh_warehouse
    )
    assert first.returncode == 0, first.stderr
    assert "job(s) in" in first.stdout  # the rendered summary without --json
    again = cli(
        "load",
        "apify-linkedin",
        "--from-file",
        str(dataset),
        "--json",
        OUTREACH_DATABASE_URL=fresh_warehouse,
    )
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)  # nothing but the JSON on stdout
    assert summary["skipped_reason"] is None and len(summary["jobs"]) == 1
    # the fixture's 5 items: 3 profiles, 1 duplicate, 1 unusable; the rerun lands nothing new
    assert summary["profiles_seen"] == 3 and summary["unparsed_items"] == 1
    assert summary["jobs"][0]["metadata"]["items_landed"] == 0
    assert "reading dataset_export.json" in again.stderr  # progress went to stderr
