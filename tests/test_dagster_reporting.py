"""CLI loads and dbt commands show up in Dagster's history (issue 16, item 2).

Runs the real ``outreach`` command (a load of the intake fixtures, a dbt build of a small
selection) against the test warehouse with a temporary DAGSTER_HOME, then opens that
Dagster instance and reads the latest materializations and check evaluations.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "intake"
OUTREACH = Path(sys.executable).parent / "outreach"


def _outreach(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(OUTREACH), *args], env=env, capture_output=True, text=True, check=False, timeout=900
    )


@pytest.fixture(scope="module")
def reported(warehouse, tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster_home")
    env = {**os.environ, "DAGSTER_HOME": str(home), "OUTREACH_DAGSTER_REPORT": "1"}
    load = _outreach(
        [
            "load",
            "intake",
            "--companies",
            str(FIXTURES / "companies.csv"),
            "--people",
            str(FIXTURES / "people.csv"),
        ],
        env,
    )
    assert load.returncode == 0, load.stderr
    build = _outreach(
        [
            "dbt",
            "build",
            "-s",
            "stg_intake__companies",
            "kpi_definitions",
            "+company",
            "--indirect-selection",
            "cautious",
        ],
        env,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-2000:]
    instance = dg.DagsterInstance.from_config(str(home))
    yield instance, load, build
    instance.dispose()


def _latest(instance, path: str):
    event = instance.get_latest_materialization_event(dg.AssetKey(path.split("/")))
    assert event is not None, f"no materialization of {path} in Dagster"
    return event.asset_materialization


def test_a_cli_intake_load_is_a_materialization_of_each_raw_intake_asset_with_row_counts(
    reported, warehouse
):
    import psycopg

    instance, load, _ = reported
    with psycopg.connect(warehouse) as conn:
        companies = conn.execute("select count(*) from raw_intake.companies").fetchone()[0]
    assert companies > 0
    mat = _latest(instance, "raw_intake/companies")
    assert mat.metadata["dagster/row_count"].value == companies
    assert mat.metadata["reported_by"].value == "outreach-cli"
    assert mat.metadata["rows_read"].value > 0
    # the load's own duration, as the CLI printed it ("intake load into raw_intake (0.52 s)")
    printed = float(re.search(r"intake load into raw_intake \((\d+\.\d+) s\)", load.stdout)[1])
    assert mat.metadata["duration_s"].value > 0
    assert abs(mat.metadata["duration_s"].value - printed) <= 0.005
    for path in ("raw_intake/people", "raw_intake/quarantine"):
        assert "dagster/row_count" in _latest(instance, path).metadata
    assert "warning: could not report" not in load.stderr


def test_a_cli_dbt_build_reports_built_nodes_and_tests_under_the_code_locations_keys(reported):
    from orchestration.definitions import defs

    instance, _, build = reported
    graph = defs.resolve_asset_graph()
    seed = dg.AssetKey(["reference", "kpi_definitions"])
    view = dg.AssetKey(["staging", "stg_intake__companies"])
    assert seed in graph.get_all_asset_keys() and view in graph.get_all_asset_keys()
    seed_mat = _latest(instance, "reference/kpi_definitions")
    assert seed_mat.metadata["dagster/row_count"].value > 0
    assert seed_mat.metadata["Execution Duration"].value > 0  # dbt's time for the seed
    assert seed_mat.metadata["dbt_command"].value.startswith("dbt build")
    assert _latest(instance, "staging/stg_intake__companies") is not None

    # the not_null/unique tests on the staging model: checks the code location defines
    check_keys = {k for k in graph.asset_check_keys if k.asset_key == view}
    assert check_keys
    for check_key in check_keys:
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [check_key]
        ).get(check_key)
        assert record is not None, f"no evaluation of {check_key.to_user_string()}"
        evaluation = record.event.dagster_event.event_specific_data
        assert evaluation.passed, check_key.to_user_string()
    assert "warning: could not report" not in build.stderr


def test_an_unusable_dagster_home_warns_once_and_the_command_still_succeeds(warehouse, tmp_path):
    home = tmp_path / "not_a_dir"
    home.write_text("a file where the Dagster home should be")
    env = {**os.environ, "DAGSTER_HOME": str(home), "OUTREACH_DAGSTER_REPORT": "1"}
    done = _outreach(["dbt", "seed", "-s", "kpi_definitions"], env)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("warning: could not report") == 1


def test_run_results_older_than_the_command_are_not_reported_again(reported, tmp_path, warehouse):
    from orchestration.reporting import report_dbt_results
    from outreach.settings import DBT_PROJECT_DIR

    target = os.environ.get("DBT_TARGET_PATH") or DBT_PROJECT_DIR / "target"
    results = Path(target) / "run_results.json"
    assert results.exists()  # left by the fixture's build
    written = results.stat().st_mtime
    # a command started after that file was written (dbt failed before writing its own)
    assert report_dbt_results(tmp_path, warehouse, ["build"], started=written + 60) == 0
    assert report_dbt_results(tmp_path, warehouse, ["build"], started=written) > 0


def test_a_cli_apify_import_is_a_materialization_of_both_raw_apify_assets(warehouse, tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "DAGSTER_HOME": str(home), "OUTREACH_DAGSTER_REPORT": "1"}
    export = Path(__file__).parent / "fixtures" / "apify" / "dataset_export.json"
    done = _outreach(
        ["load", "apify-linkedin", "--from-file", str(export), "--observed-at", "2025-01-31"], env
    )
    assert done.returncode == 0, done.stderr
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        items = _latest(instance, "raw_apify/profile_items")
        assert items.metadata["dagster/row_count"].value > 0
        assert "jobs_table" in items.metadata
        assert _latest(instance, "raw_apify/refresh_jobs").metadata["jobs"].value >= 1
    finally:
        instance.dispose()


def test_a_domains_headline_mart_carries_plot_ready_counts_by_category(reported, warehouse):
    import psycopg

    instance, _, _ = reported
    mat = _latest(instance, "company/company")
    with psycopg.connect(warehouse) as conn:
        companies = conn.execute("select count(*) from company.company").fetchone()[0]
    counts = {k: v.value for k, v in mat.metadata.items() if k.startswith("companies/")}
    assert counts and sum(counts.values()) == companies == mat.metadata["dagster/row_count"].value
    assert mat.metadata["companies_by_category"].value == {
        k.split("/", 1)[1]: v for k, v in counts.items()
    }


def test_a_cli_linkedin_ads_import_is_reported_once_and_starts_the_kpi_job(warehouse, tmp_path):
    from orchestration.assets.ads import linkedin_ads_kpi_trigger
    from orchestration.definitions import defs

    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "OUTREACH_DAGSTER_REPORT": "1"}
    instance = dg.DagsterInstance.from_config(str(home))

    def tick(cursor):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        return linkedin_ads_kpi_trigger(context)

    try:
        first = tick(None)  # the sensor starts watching from now
        export = (
            Path(__file__).parent / "fixtures" / "linkedin_ads" / "adanalytics_campaign_daily.json"
        )
        done = _outreach(
            ["load", "linkedin-ads", "--from-file", str(export), "--account", "510000001"], env
        )
        assert done.returncode == 0, done.stderr
        analytics = _latest(instance, "raw_linkedin_ads/campaign_analytics")
        assert analytics.metadata["rows_new"].value == analytics.metadata["dagster/row_count"].value
        assert analytics.metadata["rows_new"].value > 0
        assert _latest(instance, "raw_linkedin_ads/pulls").metadata["dagster/row_count"].value == 1
        after = tick(first.cursor)
        assert len(after.run_requests) == 1  # the KPI job, as for any load outside Dagster
        assert not after.asset_events  # the CLI reported the load: no second materialization
    finally:
        instance.dispose()
