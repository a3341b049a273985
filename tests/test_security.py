"""The read-only role: `outreach db grant-reader NAME` gives NAME SELECT on the published
schemas (company, people, marketing, bit) and nothing else, and that survives dbt rebuilds.

One warehouse for the module: the intake fixtures loaded, the people and company marts built,
then a login role made a reader through the CLI. Tests connect as that role (the servers the
tests use trust local connections, so no password is needed to log in)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
import pytest
from psycopg import errors

from app.dbt import run_dbt
from loaders.intake.run import load_intake_files
from outreach.security import READER_ROLE, scram_sha256_verifier
from outreach.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures" / "intake"
OUTREACH = str(Path(sys.executable).parent / "outreach")
SELECT = ["--select", "+contact +vw_company_slots +people_master"]
SECRET = "s3cret-Pa55word-never-printed"


def _as_user(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}").geturl()


def _cli(args: list[str], url: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [OUTREACH, *args],
        env={**os.environ, "OUTREACH_DATABASE_URL": url, **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def built(warehouse, tmp_path_factory, monkeypatch_module) -> str:
    monkeypatch_module.setenv("OUTREACH_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    load_intake_files(FIXTURES / "companies.csv", FIXTURES / "people.csv", progress=lambda _s: None)
    run_dbt(["seed", "--quiet"], url=warehouse)
    run_dbt(["run", *SELECT, "--quiet"], url=warehouse)
    return warehouse


@pytest.fixture(scope="module")
def reader(built) -> str:
    """A login role made a reader by the CLI; yields a URL that connects as it."""
    name = f"reader_{uuid.uuid4().hex[:8]}"
    result = _cli(
        ["db", "grant-reader", name, "--password-env", "TEST_READER_PW"],
        built,
        TEST_READER_PW=SECRET,
    )
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert f"{name} is a member of {READER_ROLE}" in result.stdout
    yield _as_user(built, name, SECRET)
    with psycopg.connect(built, autocommit=True) as conn:
        conn.execute(f'drop role if exists "{name}"')


def _fails(url: str, statement: str) -> type[Exception] | None:
    """The error class the statement raised as the given user, None if it succeeded."""
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute(statement)
        except psycopg.Error as exc:
            return type(exc)
    return None


def _count(url: str, relation: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"select count(*) from {relation}").fetchone()[0]


def test_the_reader_selects_published_tables_and_views(built, reader):
    assert _count(reader, "people.contact") == _count(built, "people.contact") > 0
    assert _count(reader, "company.vw_company_slots") > 0  # a view over staging/keymap
    assert _count(reader, "marketing.people_master") > 0


@pytest.mark.parametrize(
    "relation",
    [
        "raw_intake.people",
        "raw_intake.quarantine",
        "staging.stg_intake__people",
        "intermediate.int_person_records_deduplicated",
        "keymap.int_person_keys",
    ],
)
def test_the_reader_cannot_read_raw_staging_intermediate_or_keymap(built, reader, relation):
    assert _count(built, relation) > 0  # the owner reads its rows
    assert _fails(reader, f"select * from {relation} limit 1") is errors.InsufficientPrivilege


@pytest.mark.parametrize(
    "statement",
    [
        "insert into people.contact (contact_id) values (-1)",
        "update people.contact set full_name = 'x'",
        "delete from people.contact",
        "truncate people.contact",
        "drop table people.contact",
        "create table people.mine (x int)",
        "create table public.mine (x int)",
        "create table raw_intake.mine (x int)",
        "create temporary table mine (x int)",
        "create schema mine",
        "create view company.mine as select 1 as x",
    ],
)
def test_the_reader_cannot_write_or_create_anything(built, reader, statement):
    error = _fails(reader, statement)
    assert error is not None and issubclass(error, errors.InsufficientPrivilege), error


def test_the_reader_still_reads_after_a_rebuild_and_a_full_refresh(built, reader):
    def oid() -> int:
        with psycopg.connect(built) as conn:
            return conn.execute("select 'people.contact'::regclass::oid").fetchone()[0]

    before = oid()
    run_dbt(["run", *SELECT, "--quiet"], url=built)
    assert oid() != before  # dbt re-created the table
    assert _count(reader, "people.contact") > 0
    run_dbt(["run", *SELECT, "--full-refresh", "--quiet"], url=built)
    assert _count(reader, "people.contact") > 0
    assert _count(reader, "company.vw_company_slots") > 0
    assert _fails(reader, "select 1 from keymap.int_person_keys") is errors.InsufficientPrivilege


def test_the_password_is_stored_as_a_scram_verifier_only(built, reader):
    name = urlsplit(reader).username
    with psycopg.connect(built) as conn:
        stored = conn.execute("select rolpassword from pg_authid where rolname = %s", (name,))
        stored = stored.fetchone()[0]
    assert stored.startswith("SCRAM-SHA-256$4096:") and SECRET not in stored
    salt = base64.b64decode(stored.split("$")[1].split(":")[1])
    assert scram_sha256_verifier(SECRET, salt=salt) == stored
    assert scram_sha256_verifier("another password", salt=salt) != stored


def test_our_scram_verifier_matches_the_one_postgresql_computes(built):
    name = f"scram_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(built, autocommit=True) as conn:
        conn.execute("set password_encryption = 'scram-sha-256'")
        conn.execute(f"create role \"{name}\" password 'Tr0ub4dor&3'")
        try:
            stored = conn.execute(
                "select rolpassword from pg_authid where rolname = %s", (name,)
            ).fetchone()[0]
        finally:
            conn.execute(f'drop role "{name}"')
    salt = base64.b64decode(stored.split("$")[1].split(":")[1])
    assert scram_sha256_verifier("Tr0ub4dor&3", salt=salt) == stored


def test_grant_reader_without_the_password_variable_fails_and_creates_nothing(built):
    name = f"reader_{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k != "NO_SUCH_PW_VAR"}
    result = subprocess.run(
        [OUTREACH, "db", "grant-reader", name, "--password-env", "NO_SUCH_PW_VAR"],
        env={**env, "OUTREACH_DATABASE_URL": built},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "NO_SUCH_PW_VAR is not set" in result.stderr
    with psycopg.connect(built) as conn:
        assert conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone() is None


def test_grant_reader_refuses_a_role_name_that_needs_quoting(built):
    result = _cli(["db", "grant-reader", 'x"; drop table people.contact; --'], built)
    assert result.returncode == 1 and "not allowed" in result.stderr
    assert _count(built, "people.contact") > 0
