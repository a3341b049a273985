"""One code path per load: the Dagster intake asset runs ``outreach load intake``'s entry
point (``loaders.intake.run.load_intake_files``), so what holds for the CLI holds there.

- A person erased with ``outreach gdpr erase`` stays erased when intake runs again from
  Dagster (a real ``dagster.materialize`` of the real asset and resources) with a file that
  still holds them: ``outreach gdpr export`` finds nothing.
- The CLI and Dagster loads of the same files land the same raw rows (two databases).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import psycopg
import pytest

from loaders.intake.run import load_intake_files
from outreach.settings import PROJECT_ROOT, load_settings

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures" / "intake"
OUTREACH = str(Path(sys.executable).parent / "outreach")
EMAIL = "ona.erased@acme.com"
PROFILE = "https://www.linkedin.com/in/ona-erased"
PEOPLE_CSV = f"""full_name,title,email,linkedin_url,company_name
Ona Erased,CEO,{EMAIL},{PROFILE},Acme Inc.
Ona Erased,CFO,{EMAIL.upper()},,No Such Company
Jane Roe,CFO,jane@acme.com,https://www.linkedin.com/in/jane-roe,Acme Inc.
"""
# columns that say when or in which load a row landed: they differ between two loads
LOAD_COLUMNS = {"_loaded_at", "_dlt_load_id"}


def quiet(_line: str) -> None:
    pass


def cli(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [OUTREACH, *args],
        env={**os.environ, "OUTREACH_DATABASE_URL": url},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def materialize_intake(companies: Path | None, people: Path | None, url: str):
    """The real intake asset with the real resources, as a Dagster run."""
    from orchestration.assets.loads import intake_assets
    from orchestration.resources import WarehouseResource, build_resources

    config = {
        "companies_path": str(companies) if companies else None,
        "people_path": str(people) if people else None,
    }
    return dg.materialize(
        [intake_assets],
        resources={**build_resources(), "warehouse": WarehouseResource(database_url=url)},
        run_config={"ops": {"intake_load": {"config": config}}},
        instance=dg.DagsterInstance.ephemeral(settings={"telemetry": {"enabled": False}}),
    )


def materializations(result) -> dict[str, dict]:
    out = {}
    for event in result.get_asset_materialization_events():
        m = event.event_specific_data.materialization
        out[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
    return out


def raw_rows(url: str) -> dict[str, list[str]]:
    """Every row of the three raw_intake tables as sorted JSON, without the load columns."""
    drop = " - ".join(f"'{c}'" for c in sorted(LOAD_COLUMNS))
    out = {}
    with psycopg.connect(url) as conn:
        for table in ("companies", "people", "quarantine"):
            out[table] = sorted(
                r[0]
                for r in conn.execute(
                    f"select (to_jsonb(t) - {drop})::text from raw_intake.{table} t"
                )
            )
    return out


def found_anywhere(url: str, needles: tuple[str, ...]) -> dict[str, int]:
    """relation -> rows whose JSON text holds a needle, over every table and view."""
    found = {}
    with psycopg.connect(url, autocommit=True) as conn:
        relations = conn.execute(
            "select format('%I.%I', n.nspname, c.relname) from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'v', 'm')"
            " and n.nspname not in ('pg_catalog', 'information_schema')"
            " and n.nspname not like 'pg\\_%'"
        ).fetchall()
        for (relation,) in relations:
            condition = " or ".join(["strpos(lower(to_jsonb(t)::text), %s) > 0"] * len(needles))
            n = conn.execute(f"select count(*) from {relation} t where {condition}", needles)
            if count := n.fetchone()[0]:
                found[relation] = count
    return found


@pytest.fixture(scope="module")
def people_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("intake") / "people.csv"
    path.write_text(PEOPLE_CSV)
    return path


@pytest.fixture
def second_warehouse(server_url):
    """Another fresh database on the same server (dropped afterwards)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = urlsplit(server_url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    for folder in (load_settings().state_dir / "dlt").glob(f"{name}-*"):
        shutil.rmtree(folder, ignore_errors=True)  # the loaders' dlt folders of this database


def test_an_erased_person_does_not_come_back_when_intake_runs_from_dagster(warehouse, people_file):
    companies = FIXTURES / "companies.csv"
    load_intake_files(companies, people_file, progress=quiet)
    needles = (EMAIL, "ona-erased")
    assert "raw_intake.people" in found_anywhere(warehouse, needles)

    erased = cli(warehouse, "gdpr", "erase", "--email", EMAIL, "--no-rebuild", "--yes")
    assert erased.returncode == 0, erased.stdout + erased.stderr
    assert found_anywhere(warehouse, needles) == {}

    # the same files again, this time from Dagster
    result = materialize_intake(companies, people_file, warehouse)
    assert result.success
    people = materializations(result)["raw_intake/people"]
    assert people["rows_read"] == 3
    assert people["rows_already_present"] == 1  # Jane
    assert people["rows_quarantined"] == 0  # the unmatched erased row is dropped, not kept

    assert found_anywhere(warehouse, needles) == {}
    exported = cli(warehouse, "gdpr", "export", "--email", EMAIL)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert document["row_count"] == 0 and document["relations"] == {}
    with psycopg.connect(warehouse) as conn:
        (payload,) = conn.execute(
            "select payload from raw_ops.pipeline_events where event_type = 'load.intake'"
            " order by event_id desc limit 1"
        ).fetchone()
    assert payload["trigger"] == f"dagster:{result.run_id}"
    assert payload["summary"]["gdpr_erased"] == 2


def test_cli_and_dagster_loads_of_the_same_files_land_the_same_raw_rows(
    fresh_warehouse, second_warehouse
):
    companies, people = FIXTURES / "companies.csv", FIXTURES / "people.csv"
    args = ("load", "intake", "--companies", str(companies), "--people", str(people))
    loaded = cli(fresh_warehouse, *args)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert materialize_intake(companies, people, second_warehouse).success

    by_cli, by_dagster = raw_rows(fresh_warehouse), raw_rows(second_warehouse)
    assert all(by_cli.values()), "the files land rows in every raw_intake table"
    assert by_dagster == by_cli
