"""The `intake_and_build` job, run in-process against a fresh real PostgreSQL database:
intake files -> raw_intake (dlt) -> dbt models -> published marts, with the dbt tests as
asset checks and row counts on the materializations.
"""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

pytestmark = pytest.mark.slow

COMPANIES_CSV = """\
company_name,website_url,linkedin_url,renewal_month,renewal_notice_window_days
Acme Inc,https://www.acme.com,https://www.linkedin.com/company/acme,3,90
Globex Corporation,globex.com,,11,
Initech LLC,http://initech.io,,,
Umbrella Corp,umbrella.com,,13,
"""

PEOPLE_CSV = """\
full_name,title,email,company_name,company_website,company_linkedin_url
Jane Roe,Chief Executive Officer,jane@acme.com,Acme Inc,,
John Smith,CFO,john.smith@globex.com,,globex.com,
Peter Gibbons,Software Engineer,peter@initech.io,Initech LLC,,
Bill Lumbergh,VP,not-an-email,Initech LLC,,
Nobody Known,CEO,nobody@example.org,No Such Company,,
"""

MARTS = {
    "company.company": 3,  # Umbrella is quarantined (renewal_month 13)
    "company.company_slot": 9,  # CEO, CFO, HR per company
    "people.contact": 3,
    "marketing.company_master": 3,
    "marketing.people_master": 3,
}


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


@pytest.fixture(scope="module")
def intake_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("intake")
    companies, people = folder / "companies.csv", folder / "people.csv"
    companies.write_text(COMPANIES_CSV)
    people.write_text(PEOPLE_CSV)
    return companies, people


def run_job(companies, people, tmp_path, asset_selection=None):
    from orchestration.definitions import defs

    instance = dg.DagsterInstance.ephemeral(
        tempdir=str(tmp_path), settings={"telemetry": {"enabled": False}}
    )
    run_config = {
        "ops": {
            "intake_load": {
                "config": {"companies_path": str(companies), "people_path": str(people)}
            }
        }
    }
    return defs.resolve_job_def("intake_and_build").execute_in_process(
        run_config=run_config, instance=instance, raise_on_error=False,
        asset_selection=asset_selection,
    )  # fmt: skip


@pytest.fixture(scope="module")
def first_run(warehouse, intake_files, tmp_path_factory):
    result = run_job(*intake_files, tmp_path_factory.mktemp("dagster"))
    if not result.success:
        errors = [
            e.event_specific_data.error.message[:3000]
            for e in result.all_events
            if e.is_step_failure and e.event_specific_data.error
        ]
        pytest.fail("intake_and_build failed:\n" + "\n".join(errors))
    return result


def materializations(result) -> dict[str, dict]:
    out = {}
    for event in result.get_asset_materialization_events():
        m = event.event_specific_data.materialization
        out[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
    return out


def count(url: str, relation: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"select count(*) from {relation}").fetchone()[0]


def test_job_lands_raw_rows_and_builds_the_marts(first_run, warehouse):
    assert first_run.success
    assert count(warehouse, "raw_intake.companies") == 3
    assert count(warehouse, "raw_intake.people") == 3
    assert count(warehouse, "raw_intake.quarantine") == 3
    for relation, rows in MARTS.items():
        assert count(warehouse, relation) == rows, relation


def test_the_load_and_the_dbt_build_are_recorded_as_processed_pipeline_events(first_run, warehouse):
    with psycopg.connect(warehouse) as conn:
        recorded = conn.execute(
            "select event_type, status, coalesce(payload->>'trigger', payload->>'runner'),"
            " payload->>'run_id', payload->>'step' from raw_ops.pipeline_events order by event_id"
        ).fetchall()
    run_id = first_run.dagster_run.run_id
    # the load is the CLI's entry point (step load_intake_files), started by this run
    assert ("load.intake", "processed", f"dagster:{run_id}", None, "load_intake_files") in recorded
    assert ("dbt.build", "processed", "dagster", run_id, None) in recorded


def test_loader_materializations_report_rows_and_quarantine_by_reason(first_run):
    meta = materializations(first_run)
    companies = meta["raw_intake/companies"]
    assert companies["rows_read"] == 4
    assert companies["rows_new"] == 3
    assert companies["dagster/row_count"] == 3
    assert companies["quarantined_by_reason"] == {"invalid_renewal_month": 1}
    people = meta["raw_intake/people"]
    assert people["rows_new"] == 3
    assert people["quarantined_by_reason"] == {"invalid_email": 1, "unmatched_employer": 1}
    quarantine = meta["raw_intake/quarantine"]
    assert quarantine["dagster/row_count"] == 3
    assert quarantine["quarantined_by_reason"] == {
        "invalid_email": 1,
        "invalid_renewal_month": 1,
        "unmatched_employer": 1,
    }
    assert "unmatched_employer" in quarantine["quarantine_report"]


def test_mart_materializations_carry_row_counts(first_run):
    meta = materializations(first_run)
    for relation, rows in MARTS.items():
        asset = relation.replace(".", "/")
        assert asset in meta, f"{asset} not materialized"
        assert meta[asset].get("dagster/row_count") == rows, asset


def test_the_company_mart_carries_plot_ready_counts_by_category(first_run):
    company = materializations(first_run)["company/company"]
    counts = {k: v for k, v in company.items() if k.startswith("companies/")}
    assert counts and sum(counts.values()) == company["dagster/row_count"]


def test_dbt_tests_ran_as_passing_asset_checks(first_run):
    evaluations = first_run.get_asset_check_evaluations()
    by_asset: dict[str, list] = {}
    for evaluation in evaluations:
        by_asset.setdefault(evaluation.asset_key.to_user_string(), []).append(evaluation)
    assert len(evaluations) > 20
    failed = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in evaluations
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert failed == []
    assert by_asset.get("company/company"), "no checks ran on company/company"
    # source tests run as checks on the loader's assets
    assert by_asset.get("raw_intake/companies"), "no source checks on raw_intake/companies"


def test_second_run_with_the_same_files_adds_nothing(first_run, warehouse, intake_files, tmp_path):
    """The job again, for the loads and the marts counted here with everything they are
    built from (the first run built the whole graph; a second one proves nothing more)."""
    from orchestration.definitions import defs

    job = defs.resolve_job_def("intake_and_build")
    marts = dg.AssetSelection.assets(*(key(r.replace(".", "/")) for r in MARTS))
    chosen = marts.upstream().required_multi_asset_neighbors()  # the whole intake multi-asset
    selection = sorted(
        chosen.resolve(defs.resolve_asset_graph()) & job.asset_layer.executable_asset_keys,
        key=lambda k: k.to_user_string(),
    )
    assert key("raw_intake/companies") in selection and len(selection) < 100
    before = {relation: count(warehouse, relation) for relation in MARTS}
    result = run_job(*intake_files, tmp_path, asset_selection=selection)
    assert result.success
    meta = materializations(result)
    assert meta["raw_intake/companies"]["rows_new"] == 0
    assert meta["raw_intake/companies"]["rows_already_present"] == 3
    assert meta["raw_intake/quarantine"]["rows_new"] == 0
    assert {relation: count(warehouse, relation) for relation in MARTS} == before


def test_missing_intake_file_fails_the_load_with_a_clear_message(warehouse, tmp_path):
    from orchestration.assets.loads import intake_assets
    from orchestration.resources import build_resources

    result = dg.materialize(
        [intake_assets],
        resources=build_resources(),
        run_config={
            "ops": {"intake_load": {"config": {"companies_path": str(tmp_path / "nope.csv")}}}
        },
        instance=dg.DagsterInstance.ephemeral(settings={"telemetry": {"enabled": False}}),
        raise_on_error=False,
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "nope.csv" in failure.event_specific_data.error.message
