"""Shared fixtures: a real PostgreSQL (the embedded one, or OUTREACH_DATABASE_URL).

Each test module that needs a warehouse gets its own, freshly created database on that
server, dropped afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import shutil
import uuid
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


@pytest.fixture(scope="session")
def server_url() -> str:
    """URL of the server the tests use (embedded unless OUTREACH_DATABASE_URL is set)."""
    return database_url(load_settings())


def _create_db(server: str) -> tuple[str, str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_with_db(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    return name, _with_db(server, name)


def _drop_db(server: str, name: str) -> None:
    with psycopg.connect(_with_db(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    # loaders keep dlt working folders per database; drop this database's with it
    for folder in (load_settings().state_dir / "dlt").glob(f"{name}-*"):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def warehouse(server_url, monkeypatch_module) -> str:
    """A fresh, empty database for this test module; OUTREACH_DATABASE_URL points at it."""
    name, url = _create_db(server_url)
    monkeypatch_module.setenv("OUTREACH_DATABASE_URL", url)
    yield url
    if not os.environ.get("OUTREACH_KEEP_TEST_DB"):
        _drop_db(server_url, name)


@pytest.fixture
def fresh_warehouse(server_url, monkeypatch) -> str:
    """A fresh, empty database for one test."""
    name, url = _create_db(server_url)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", url)
    yield url
    _drop_db(server_url, name)


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
