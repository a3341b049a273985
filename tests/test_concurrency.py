"""Concurrent loads and an unreachable warehouse (issue 15 items 4 and 8).

Two ``outreach load intake`` started at once used to share one dlt working folder with no
lock: one failed inside dlt (``[Errno 17] File exists``, ``Package with load_id=… could not
be found``) and left CSV copies behind. Now a per-pipeline file lock serialises loads of
one source (the second waits, bounded by OUTREACH_LOAD_LOCK_TIMEOUT_S, then exits 6 with a
one-line message); loads of different sources take different locks. An unreachable
database used to print a 17-32-line traceback; now one line and exit 5.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest

from outreach.dlt_pipelines import LoadBusyError, load_lock
from outreach.settings import PROJECT_ROOT
from outreach.warehouse import connection_failure

OUTREACH = str(Path(sys.executable).parent / "outreach")
FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "intake"
COMPANIES_CSV = FIXTURES / "companies.csv"
PEOPLE_CSV = FIXTURES / "people.csv"
LOAD_INTAKE = ["load", "intake", "--companies", str(COMPANIES_CSV), "--people", str(PEOPLE_CSV)]
# the per-file line a load prints: "<file>: N rows, G good (n new, p already present), Q quarantined"
STATS = re.compile(r"^(\S+): (\d+) rows, (\d+) good \((\d+) new, (\d+) already present\)", re.M)
DATA_SUFFIXES = (".csv", ".gz", ".parquet", ".jsonl", ".insert_values", ".typed-jsonl")


@pytest.fixture
def state_dir(server_url, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("OUTREACH_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _env(url: str, state_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "OUTREACH_DATABASE_URL": url, "OUTREACH_STATE_DIR": str(state_dir)}


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [OUTREACH, *args],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchone()[0]


# ---------------------------------------------------------------------------- item 4
def test_two_intake_loads_at_once_both_finish_with_every_row_once(fresh_warehouse, state_dir):
    env = _env(fresh_warehouse, state_dir)
    procs = [_start(LOAD_INTAKE, env) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, f"exit {p.returncode}\n{out}\n{err}"
        assert "Traceback" not in err
    # each run saw the files' good rows; together they are new exactly once
    stats = [{m[0]: (int(m[2]), int(m[3])) for m in STATS.findall(out)} for out, _ in outs]
    good = {f: stats[0][f][0] for f in ("companies.csv", "people.csv")}
    assert good == {f: stats[1][f][0] for f in good} and all(good.values())
    for f in good:
        assert stats[0][f][1] + stats[1][f][1] == good[f]
    assert (
        _count(fresh_warehouse, "select count(*) from raw_intake.companies")
        == good["companies.csv"]
    )
    assert _count(fresh_warehouse, "select count(*) from raw_intake.people") == good["people.csv"]
    for table in ("companies", "people"):
        dupes = f"select count(*) - count(distinct _row_key) from raw_intake.{table}"
        assert _count(fresh_warehouse, dupes) == 0
    # nothing left behind: no pending packages, no data copies, the lock free again
    folders = list((state_dir / "dlt").glob("*/intake"))
    assert len(folders) == 1
    leftovers = [
        p.relative_to(folders[0])
        for p in folders[0].rglob("*")
        if p.is_file() and (p.name.endswith(DATA_SUFFIXES) or "/load/new/" in str(p))
    ]
    assert leftovers == []
    for stage in ("load/new", "load/normalized", "normalize/extracted"):
        assert not any((folders[0] / stage).glob("*")), stage
    with load_lock(fresh_warehouse, "intake", timeout_s=0):
        pass


def test_a_load_that_cannot_get_the_lock_in_time_says_who_holds_it(fresh_warehouse, state_dir):
    env = _env(fresh_warehouse, state_dir)
    env["OUTREACH_LOAD_LOCK_TIMEOUT_S"] = "0"
    with load_lock(fresh_warehouse, "intake"):
        result = subprocess.run(
            [OUTREACH, *LOAD_INTAKE],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 6
    assert result.stderr.strip().splitlines() == [
        f"error: another load of intake is running (pid {os.getpid()}); try again when it ends"
    ]
    # nothing was loaded by the refused run, and the next one runs
    with psycopg.connect(fresh_warehouse) as conn:
        assert conn.execute("select to_regclass('raw_intake.companies')").fetchone()[0] is None
    again = subprocess.run(
        [OUTREACH, *LOAD_INTAKE],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr


def test_a_waiting_load_says_so_once_and_gives_up_at_the_timeout(fresh_warehouse, state_dir):
    said: list[str] = []
    with load_lock(fresh_warehouse, "intake"):
        done = threading.Event()
        errors: list[BaseException] = []

        def other() -> None:
            try:
                with load_lock(fresh_warehouse, "intake", timeout_s=0.5, progress=said.append):
                    pass
            except LoadBusyError as exc:
                errors.append(exc)
            done.set()

        t = threading.Thread(target=other)
        t.start()
        t.join(timeout=30)
    assert done.is_set() and len(errors) == 1
    assert "another load of intake is running" in str(errors[0])
    assert len(said) == 1 and said[0].startswith("waiting for another load of intake")


def test_loads_of_different_sources_do_not_wait_for_each_other(fresh_warehouse, state_dir):
    with load_lock(fresh_warehouse, "intake"):
        with (
            load_lock(fresh_warehouse, "apify_linkedin", timeout_s=0),
            load_lock(fresh_warehouse, "intake", timeout_s=0),  # nested: re-entrant
        ):
            pass
        with pytest.raises(LoadBusyError):  # another thread of this process waits
            t_err: list[BaseException] = []

            def same() -> None:
                try:
                    with load_lock(fresh_warehouse, "intake", timeout_s=0):
                        pass
                except LoadBusyError as exc:
                    t_err.append(exc)

            t = threading.Thread(target=same)
            t.start()
            t.join(timeout=30)
            raise t_err[0]


def test_a_lock_is_released_when_its_holder_dies(fresh_warehouse, state_dir):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from outreach.dlt_pipelines import load_lock\n"
            "with load_lock(sys.argv[1], 'intake'):\n print('held', flush=True); time.sleep(600)",
            fresh_warehouse,
        ],
        env=_env(fresh_warehouse, state_dir),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(LoadBusyError, match=f"pid {holder.pid}"),
            load_lock(fresh_warehouse, "intake", timeout_s=0),
        ):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=30)
    with load_lock(fresh_warehouse, "intake", timeout_s=5):
        pass


# ---------------------------------------------------------------------------- item 8
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "args",
    [
        ["load", "intake", "--companies", str(COMPANIES_CSV)],
        ["load", "apify-linkedin", "--from-file", "DATASET"],
        ["gdpr", "export", "--email", "someone@example.com"],
        ["ops", "errors"],
    ],
    ids=["load-intake", "load-apify", "gdpr-export", "ops-errors"],
)
@pytest.mark.parametrize("password", ["", "s3cr3t-Pw"])
def test_an_unreachable_warehouse_is_one_line_and_exit_5(args, password, tmp_path):
    port = _closed_port()
    dataset = tmp_path / "dataset.json"
    dataset.write_text("[]")
    login = f"bob:{password}" if password else "bob"
    env = _env(f"postgresql://{login}@127.0.0.1:{port}/wh", tmp_path / "state")
    result = subprocess.run(
        [OUTREACH, *[str(dataset) if a == "DATASET" else a for a in args]],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 5, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        f"error: cannot reach the warehouse at postgresql://bob@127.0.0.1:{port}/wh ("
    )
    assert "Connection refused" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    if password:
        assert password not in result.stderr + result.stdout


def test_only_connection_failures_count_as_unreachable():
    refused = psycopg.OperationalError("connection failed: connection refused")
    assert connection_failure(refused) is refused
    wrapped = RuntimeError("load failed")
    wrapped.__cause__ = refused
    assert connection_failure(wrapped) is refused
    assert connection_failure(psycopg.errors.InvalidPassword("bad password")) is not None
    assert connection_failure(psycopg.errors.QueryCanceled("statement timeout")) is None
    assert connection_failure(ValueError("x")) is None


def test_the_exit_codes_are_documented():
    help_text = subprocess.run([OUTREACH, "--help"], capture_output=True, text=True).stdout
    assert "5 the warehouse database cannot be reached" in help_text
    assert "6 another load of the" in help_text
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "exit 5" in readme and "exit 6" in readme
