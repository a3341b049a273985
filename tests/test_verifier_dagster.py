"""The MillionVerifier assets in the Dagster code location: keys that the dbt sources map
onto (one lineage graph), a job that rebuilds everything downstream, a daily schedule, and a
real materialization against the test-mode server."""

from __future__ import annotations

import dagster as dg
import psycopg
import pytest

from app.dbt import run_dbt


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


def test_verifier_assets_are_the_raw_tables_the_dbt_sources_read(graph):
    for table in ("email_checks", "verification_runs"):
        node = graph.get(key(f"raw_verifier/{table}"))
        assert node.is_materializable and node.group_name == "email_verification"
        staging = key(f"staging/stg_millionverifier__{table}")
        assert key(f"raw_verifier/{table}") in graph.get(staging).parent_keys


def test_the_published_objects_hang_off_the_verifier(graph):
    reachable: set = set()
    todo = [key("raw_verifier/email_checks")]
    while todo:
        current = todo.pop()
        for child in graph.get(current).child_keys:
            if child not in reachable:
                reachable.add(child)
                todo.append(child)
    for published in (
        "people/contact_verification",
        "people/due_email_recheck_30d",
        "company/company_slot",
        "company/vw_company_slots",
        "company/vw_due_renewals_ready",
        "bit/signal",
    ):
        assert key(published) in reachable, published


def test_queues_and_renewal_views_are_assets_with_checks(graph):
    for published in (
        "company/next_company_urls_30d",
        "people/next_profile_urls_30d",
        "company/vw_next_renewal",
    ):
        assert graph.get(key(published)).is_materializable
    checks = {
        c.name for c in graph.asset_check_keys if c.asset_key == key("people/due_email_recheck_30d")
    }
    assert "assert_due_email_recheck_skips_recent_checks" in checks


def test_job_verifies_then_builds_what_depends_on_the_answers(defs):
    job = defs.resolve_job_def("verify_emails_and_build")
    selected = job.asset_layer.selected_asset_keys
    assert {key("raw_verifier/email_checks"), key("people/contact_verification")} <= selected
    assert key("bit/signal") in selected
    assert key("raw_intake/companies") not in selected


def test_daily_schedule(defs):
    schedule = defs.resolve_schedule_def("verify_emails_daily")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.job_name == "verify_emails_and_build"


@pytest.mark.slow
def test_materializing_the_verifier_lands_answers_with_metadata(
    fresh_warehouse, monkeypatch, tmp_path
):
    """A real Dagster run of the asset in test mode (the loader starts its own local
    server), reading the real queue: two people loaded through the intake loader, then
    people.due_email_recheck_30d built by dbt."""
    from loaders.intake.run import load_intake_files
    from orchestration.assets.verifier import verifier_assets
    from orchestration.resources import WarehouseResource

    monkeypatch.setenv("OUTREACH_TEST_MODE", "true")
    monkeypatch.delenv("MILLIONVERIFIER_BASE_URL", raising=False)
    (tmp_path / "companies.csv").write_text("company_name,website_url\nAcme Inc.,acme.com\n")
    (tmp_path / "people.csv").write_text(
        "full_name,title,email,company_website\n"
        "Ann Ok,CEO,ok.ann@acme.com,acme.com\n"
        "Bob Bad,CFO,invalid.bob@acme.com,acme.com\n"
    )
    load_intake_files(tmp_path / "companies.csv", tmp_path / "people.csv", progress=lambda _m: None)
    skip_tests = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    run_dbt(["build", "--select", "+due_email_recheck_30d", *skip_tests], url=fresh_warehouse)
    with psycopg.connect(fresh_warehouse) as conn:
        queue = conn.execute("select email from people.due_email_recheck_30d order by 1")
        assert queue.fetchall() == [("invalid.bob@acme.com",), ("ok.ann@acme.com",)]
    result = dg.materialize(
        [verifier_assets],
        resources={"warehouse": WarehouseResource(database_url=fresh_warehouse)},
        run_config={"ops": {"millionverifier_verify": {"config": {"concurrency": 2}}}},
    )
    assert result.success
    (checks,) = [
        m
        for m in result.asset_materializations_for_node("millionverifier_verify")
        if m.asset_key == key("raw_verifier/email_checks")
    ]
    meta = checks.metadata
    assert meta["status"].value == "completed"
    assert meta["emails_answered"].value == 2
    with psycopg.connect(fresh_warehouse) as conn:
        got = conn.execute(
            "select email, result from raw_verifier.email_checks order by 1"
        ).fetchall()
    assert got == [("invalid.bob@acme.com", "invalid"), ("ok.ann@acme.com", "ok")]


def test_a_missing_queue_fails_the_run_with_what_to_do(fresh_warehouse, monkeypatch):
    from orchestration.assets.verifier import verifier_assets
    from orchestration.resources import WarehouseResource

    monkeypatch.setenv("OUTREACH_TEST_MODE", "true")
    result = dg.materialize(
        [verifier_assets],
        resources={"warehouse": WarehouseResource(database_url=fresh_warehouse)},
        raise_on_error=False,
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "outreach dbt build" in str(failure)
