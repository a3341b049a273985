"""Shared fixtures: a real PostgreSQL (the embedded one, or OUTREACH_DATABASE_URL).

Each test module that needs a warehouse gets its own, freshly created database on that
server, dropped afterwards, so tests never see each other's rows. Database names are
stable per pytest process (see ``_stable``), so dbt's partial parsing holds across modules.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from outreach.settings import load_settings

# CLI runs report to Dagster (app/dagster_report.py); the suite keeps the project's
# Dagster history clean and fast. tests/test_dagster_reporting.py turns it on for itself.
os.environ.setdefault("OUTREACH_DAGSTER_REPORT", "0")
from outreach.warehouse import database_url


def _with_db(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{dbname}").geturl()


# Stable database names, one set per pytest process (xdist worker): dbt hashes the
# connection (database name included) into its partial-parse state, so a new name per
# module would make every dbt command re-parse the whole project. Each name also gets its
# own dbt target folder, kept across runs, so each of them parses fully once at most.
# The checkout is part of the name too: two checkouts (worktrees, a CI clone) testing
# against one server never share a database.
CHECKOUT = hashlib.sha1(str(Path(__file__).resolve().parent).encode()).hexdigest()[:6]
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
TEMPLATE = f"pytest_{CHECKOUT}_{WORKER}_template"


# ---------------------------------------------------------------- scheduling
# Modules run longest first, so that on N workers (`--dist loadfile --no-loadscope-reorder`)
# no long module starts last while the other workers sit idle. The seconds per module come
# from a run of the suite (`make test-durations` rewrites the file); a module not listed
# yet counts as DEFAULT_MODULE_S.
MODULE_DURATIONS = Path(__file__).with_name("module_durations.json")
DEFAULT_MODULE_S = 10.0


def _module(nodeid: str) -> str:
    return nodeid.split("::", 1)[0].rsplit("/", 1)[-1]


def pytest_collection_modifyitems(config, items):
    costs = json.loads(MODULE_DURATIONS.read_text()) if MODULE_DURATIONS.exists() else {}
    position = {item: i for i, item in enumerate(items)}
    items.sort(key=lambda it: (-costs.get(_module(it.nodeid), DEFAULT_MODULE_S), position[it]))


_SPENT: Counter = Counter()


def pytest_runtest_logreport(report):
    _SPENT[_module(report.nodeid)] += report.duration


def pytest_sessionfinish(session, exitstatus):
    """With OUTREACH_RECORD_DURATIONS=1, the controller (not an xdist worker) rewrites
    tests/module_durations.json from this run (a run of the whole suite)."""
    if os.environ.get("OUTREACH_RECORD_DURATIONS") != "1" or hasattr(session.config, "workerinput"):
        return
    spent = {name: round(s) for name, s in _SPENT.most_common() if s >= 1}
    MODULE_DURATIONS.write_text(json.dumps(spent, indent=1) + "\n")


@pytest.fixture(scope="session")
def server_url() -> str:
    """URL of the server the tests use (embedded unless OUTREACH_DATABASE_URL is set)."""
    return database_url(load_settings())


def _stable(kind: str) -> str:
    return f"pytest_{CHECKOUT}_{WORKER}_{kind}"


@pytest.fixture(scope="session")
def db_name():
    """``db_name(kind)``: a database name of this checkout and pytest process."""
    return _stable


def _admin(server: str) -> psycopg.Connection:
    return psycopg.connect(_with_db(server, "postgres"), autocommit=True)


def _create_db(server: str, name: str, template: str | None = None) -> str:
    with _admin(server) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        if template:
            conn.execute(f'create database "{name}" template "{template}"')
        else:
            conn.execute(f'create database "{name}"')
    url = _with_db(server, name)
    _drop_dlt_folders(url)
    if template:  # the loaders' dlt working folders go with the tables (as on one machine)
        shutil.copytree(pipelines_dir_for(_with_db(server, template)), pipelines_dir_for(url))
    return url


def pipelines_dir_for(url: str) -> Path:
    from outreach.dlt_pipelines import pipelines_dir_for

    return pipelines_dir_for(url)


def _drop_dlt_folders(url: str) -> None:
    # loaders keep a dlt working folder per database (server and name): it goes with it,
    # and the same name on another server (the PostgreSQL 15 pass beside) keeps its own
    shutil.rmtree(pipelines_dir_for(url), ignore_errors=True)


def _drop_db(server: str, name: str) -> None:
    with _admin(server) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    _drop_dlt_folders(_with_db(server, name))


def _use(mp: pytest.MonkeyPatch, url: str, name: str) -> None:
    """Point the product (OUTREACH_DATABASE_URL) and dbt (target/log folders kept per
    stable database name) at database ``name``."""
    mp.setenv("OUTREACH_DATABASE_URL", url)
    dbt_dir = load_settings().state_dir / "pytest-dbt" / name
    mp.setenv("DBT_TARGET_PATH", str(dbt_dir / "target"))
    mp.setenv("DBT_LOG_PATH", str(dbt_dir / "logs"))


@pytest.fixture(scope="session")
def raw_template(server_url) -> str:
    """A database holding every loader's raw tables, empty (what the first dbt command
    of a new warehouse creates: ``app.dbt.ensure_raw_tables``), built once per
    session; module warehouses are copies of it (``CREATE DATABASE ... TEMPLATE``)."""
    from app.dbt import ensure_raw_tables

    url = _create_db(server_url, TEMPLATE)
    ensure_raw_tables(url)
    with _admin(server_url) as conn:  # nobody may be connected to a template being copied
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
            (TEMPLATE,),
        )
    yield TEMPLATE
    _drop_db(server_url, TEMPLATE)


@pytest.fixture(scope="module")
def warehouse(server_url, raw_template, monkeypatch_module) -> str:
    """A database for this test module holding every loader's raw tables, empty (as after
    a first ``outreach dbt`` command); OUTREACH_DATABASE_URL points at it."""
    name = _stable("module")
    url = _create_db(server_url, name, template=raw_template)
    _use(monkeypatch_module, url, name)
    yield url
    if not os.environ.get("OUTREACH_KEEP_TEST_DB"):
        _drop_db(server_url, name)


@pytest.fixture
def copy_database(server_url, monkeypatch):
    """``copy_database(url)``: a copy (``CREATE DATABASE ... TEMPLATE``) of that database
    for one test, under this process's stable ``copy`` name with its own dbt target folder
    (dbt's partial parse holds across tests and the module's own target is untouched);
    OUTREACH_DATABASE_URL points at it during the test. One copy per test."""
    made: list[str] = []

    def copy(source_url: str) -> str:
        if made:
            raise RuntimeError("copy_database makes one copy per test")
        source = urlsplit(source_url).path.lstrip("/")
        with _admin(server_url) as conn:  # nobody may be connected to a database being copied
            conn.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s",
                (source,),
            )
        name = _stable("copy")
        url = _create_db(server_url, name, template=source)
        made.append(name)
        _use(monkeypatch, url, name)
        return url

    yield copy
    for name in made:
        _drop_db(server_url, name)


@pytest.fixture
def warehouse_copy(warehouse, copy_database) -> str:
    """A copy of this module's warehouse, for one test that changes what the module's
    other tests read, so every test passes in any order; OUTREACH_DATABASE_URL points at
    it during the test."""
    return copy_database(warehouse)


@pytest.fixture(scope="module")
def empty_warehouse(server_url, monkeypatch_module) -> str:
    """A database for this test module with nothing in it (for tests of how the raw
    tables come to be)."""
    name = _stable("empty")
    url = _create_db(server_url, name)
    _use(monkeypatch_module, url, name)
    yield url
    if not os.environ.get("OUTREACH_KEEP_TEST_DB"):
        _drop_db(server_url, name)


@pytest.fixture
def fresh_warehouse(server_url, monkeypatch) -> str:
    """A fresh, empty database for one test."""
    name = _stable("fresh")
    url = _create_db(server_url, name)
    _use(monkeypatch, url, name)
    yield url
    _drop_db(server_url, name)


@pytest.fixture(autouse=True)
def _default_termination_signals():
    """Give SIGTERM back its default after each test: an in-process Dagster run leaves its
    own handler in place, and an ignored or blocked SIGTERM would pass through exec to every
    process a later test starts (which then outlive SIGTERM and their parent's death)."""
    yield
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture
def run_failure_sensor():
    """Materialize one failing asset in a throwaway Dagster instance, then run our
    ``pipeline_run_failures`` sensor on that run's failure (as the daemon would)."""
    import dagster as dg

    from orchestration.sensors import pipeline_run_failures

    def run(step):
        instance = dg.DagsterInstance.ephemeral()
        result = dg.materialize([step], instance=instance, raise_on_error=False)
        assert not result.success
        context = dg.build_run_status_sensor_context(
            sensor_name="pipeline_run_failures",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
        ).for_run_failure()
        pipeline_run_failures(context)
        return result

    return run


@pytest.fixture
def ple_outbox_table():
    """Create ``marketing.ple_enqueue_outbox`` with the published columns on ``conn``
    (for export tests that need exact rows rather than a dbt build)."""

    def create(conn: psycopg.Connection) -> None:
        conn.execute("create schema if not exists marketing")
        conn.execute(
            "create table marketing.ple_enqueue_outbox (outbox_id text, person_unique_id text,"
            " company_unique_id text, change_type text, priority text, payload jsonb,"
            " created_at timestamptz)"
        )

    return create
