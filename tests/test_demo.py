"""`outreach demo` end to end, and the deterministic demo data behind it."""

from __future__ import annotations

import filecmp
import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from app.demo_data import generate

OUTREACH = str(Path(sys.executable).parent / "outreach")


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path):
    a = generate(tmp_path / "a", companies=40, people=200, seed=7)
    b = generate(tmp_path / "b", companies=40, people=200, seed=7)
    c = generate(tmp_path / "c", companies=40, people=200, seed=8)
    assert filecmp.cmp(a.companies, b.companies, shallow=False)
    assert filecmp.cmp(a.people, b.people, shallow=False)
    assert not filecmp.cmp(a.people, c.people, shallow=False)
    assert a.companies_rows == 40 and a.people_rows == 200
    assert len(a.companies.read_text().splitlines()) == 41  # header + rows


def test_outreach_help_is_instant_because_heavy_imports_are_lazy():
    code = "import sys, app.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in {'dbt','dagster','dlt','pandas'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _run_demo(out_dir: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [OUTREACH, "demo", "--companies", "40", "--people", "240", "--out-dir", str(out_dir)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return proc.stdout


@pytest.mark.slow
def test_demo_loads_builds_and_summarises_the_published_objects(empty_warehouse, tmp_path):
    warehouse = (
        empty_warehouse  # the demo starts from an empty warehouse (and resets only one it filled)
    )
    # it reports to a Dagster home, as a user's demo does (the suite turns reporting off)
    home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home), "OUTREACH_DAGSTER_REPORT": "1"}
    out = _run_demo(tmp_path / "demo", env)
    assert "empty warehouse: marked as the demo's" in out
    # dbt's progress on the way: nodes done of total (a plain line: stdout is not a terminal)
    assert re.search(r"^ +dbt (\d+)/\1 \(\d+ s\)$", out, re.M), out[:3000]
    for name in [
        "company.company",
        "company.company_slot",
        "people.contact",
        "marketing.company_master",
        "marketing.people_master",
    ]:
        assert name in out
    assert "Quarantined intake rows" in out
    assert "outreach ui" in out
    # step 12 drains the company queue (the schema doc's company-queue query is then empty)
    assert "company.next_company_urls_30d: 0 URLs due" in out, out[-3000:]
    with psycopg.connect(warehouse) as conn:
        companies = conn.execute("select count(*) from company.company").fetchone()[0]
        slots = conn.execute("select count(*) from company.company_slot").fetchone()[0]
        quarantined = conn.execute("select count(*) from raw_intake.quarantine").fetchone()[0]
        jobs = conn.execute(
            "select job_unique_id, status, total_profiles, profiles_changed"
            " from marketing.linkedin_refresh_jobs order by job_unique_id"
        ).fetchall()
        changes = conn.execute("select count(*) from marketing.people_intelligence").fetchone()[0]
    # 40 companies minus the one the generator spoils on purpose
    assert companies == 39
    assert slots == 3 * companies
    assert quarantined >= 3
    # the baseline refresh and the one a simulated month later, both listed in the summary
    assert "LinkedIn refresh jobs and detected changes" in out
    assert len(jobs) == 2 and all(status == "completed" for _, status, _, _ in jobs)
    assert all(job_id in out for job_id, _, _, _ in jobs)
    baseline, later = jobs
    assert baseline[2] == later[2] > 0  # every tracked profile, both times
    assert baseline[3] == 0  # the baseline agrees with what intake said
    assert later[3] > 0 and later[3] == changes  # the month-later job found the changes
    assert "no_data" not in out and ": at_risk (data of" in out  # the KPI story holds

    # a rerun starts over: the reset leaves what the first run started from (an empty
    # warehouse marked as the demo's, no dlt state), so it tells the same story; a warehouse
    # holding other data is never reset
    from app.demo import DEMO_SCHEMA, _user_schemas, prepare_demo_warehouse
    from outreach.dlt_pipelines import pipelines_dir_for

    assert pipelines_dir_for(warehouse).exists()
    assert prepare_demo_warehouse(warehouse).startswith("reset the previous demo's data")
    assert not pipelines_dir_for(warehouse).exists()
    with psycopg.connect(warehouse) as conn:
        assert _user_schemas(conn) == [DEMO_SCHEMA]
        assert conn.execute(f"select count(*) from {DEMO_SCHEMA}.runs").fetchone()[0] == 1
        conn.execute(f"drop table {DEMO_SCHEMA}.runs")
        conn.execute("create schema someone_elses")
        conn.commit()
    assert prepare_demo_warehouse(warehouse).startswith("warehouse holds other data")
    with psycopg.connect(warehouse) as conn:
        assert _user_schemas(conn) == [DEMO_SCHEMA, "someone_elses"]

    # the Dagster UI shows what the demo did: every loader's raw assets, the marts, checks
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        for path in (
            "raw_intake/companies",
            "raw_verifier/email_checks",
            "raw_apify/profile_items",
            "raw_linkedin_ads/campaign_analytics",
            "company/company",
            "marketing/people_intelligence",
        ):
            event = instance.get_latest_materialization_event(dg.AssetKey(path.split("/")))
            assert event is not None, f"the demo left no materialization of {path} in Dagster"
        from orchestration.definitions import defs

        checks = list(defs.resolve_asset_graph().asset_check_keys)
        evaluated = instance.event_log_storage.get_latest_asset_check_execution_by_key(checks)
        assert sum(record is not None for record in evaluated.values()) > 0
    finally:
        instance.dispose()
