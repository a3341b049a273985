"""The LinkedIn refresh in Dagster: asset, monthly schedule with the circuit breaker, retry
sensor and the 45-day stale check — run for real against the Apify test-mode server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import psycopg
import pytest

from loaders.apify_linkedin.run import refresh_profiles
from orchestration.assets.apify import (
    ITEMS_KEY,
    JOBS_KEY,
    apify_refresh_assets,
    linkedin_refresh_monthly,
    linkedin_refresh_rate_limit_retry,
    stale_check_result,
)
from orchestration.definitions import defs
from orchestration.resources import WarehouseResource
from tests.test_apify_support import (
    apify_test_server,
    fast,
    job_rows,
    people_urls,
    reset_apify_state,
    seed_tracked_people,
)


@pytest.fixture
def db(warehouse):
    reset_apify_state(warehouse)
    return warehouse


@pytest.fixture
def server(monkeypatch):
    with apify_test_server(monkeypatch, seed=11) as srv:
        yield srv


def test_refresh_is_wired_into_one_lineage_graph_with_schedule_sensor_and_check():
    graph = defs.resolve_asset_graph()
    positions = dg.AssetKey(["staging", "stg_apify__profile_positions"])
    staging = dg.AssetKey(["staging", "stg_apify__profile_items"])
    assert ITEMS_KEY in graph.get(positions).parent_keys
    assert positions in graph.get(staging).parent_keys
    jobs_mart = dg.AssetKey(["marketing", "linkedin_refresh_jobs"])
    assert graph.has(jobs_mart)
    schedule = defs.get_schedule_def("linkedin_refresh_monthly")
    assert schedule.cron_schedule == "0 2 1 * *"
    assert schedule.execution_timezone == "UTC"
    assert defs.get_sensor_def("linkedin_refresh_rate_limit_retry")
    checks = {c.name for c in graph.asset_check_keys if c.asset_key == JOBS_KEY}
    assert "linkedin_refresh_not_stale" in checks


def test_materializing_the_refresh_lands_profiles_with_run_metadata(db, server):
    seed_tracked_people(db, people_urls(5))
    result = dg.materialize(
        [apify_refresh_assets],
        resources={"warehouse": WarehouseResource(database_url=db)},
    )
    assert result.success
    meta = {
        m.asset_key: m.step_materialization_data.materialization.metadata
        for m in result.get_asset_materialization_events()
    }
    items = meta[ITEMS_KEY]
    assert items["profiles_seen"].value == 5
    assert items["profiles_skipped"].value == 0
    assert items["trigger"].value == "manual"
    assert items["profiles_per_hour"].value > 0 and items["unparsed_items"].value == 0
    assert "04.04.06." in items["jobs_table"].value
    checks = result.get_asset_check_evaluations()
    assert [(c.check_name, c.passed) for c in checks] == [("linkedin_refresh_not_stale", True)]
    assert [j["status"] for j in job_rows(db)] == ["completed"]


def test_stale_check_fails_with_error_severity_after_45_days_without_a_completed_refresh(
    db, server, tmp_path
):
    never = stale_check_result(db)
    assert never.passed is False and never.severity == dg.AssetCheckSeverity.ERROR
    seed_tracked_people(db, people_urls(2))
    refresh_profiles(database_url=db, **fast(tmp_path))
    assert stale_check_result(db).passed is True
    later = datetime.now(UTC) + timedelta(days=46)
    stale = stale_check_result(db, now=later)
    assert stale.passed is False
    assert stale.metadata["age_days"].value >= 45


def test_monthly_schedule_is_skipped_with_the_reason_while_the_breaker_is_open(
    db, server, tmp_path, monkeypatch
):
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db)
    seed_tracked_people(db, people_urls(2))
    with dg.build_schedule_context() as ctx:
        first = linkedin_refresh_monthly.evaluate_tick(ctx)
    assert first.run_requests and first.run_requests[0].tags["outreach/trigger"] == "scheduled"

    server.configure(run_status="FAILED")
    for _ in range(3):
        refresh_profiles(database_url=db, trigger="scheduled", all_profiles=True, **fast(tmp_path))
    with dg.build_schedule_context() as ctx:
        tick = linkedin_refresh_monthly.evaluate_tick(ctx)
    assert not tick.run_requests
    assert "circuit breaker open" in tick.skip_message

    server.reset_faults()
    refresh_profiles(database_url=db, trigger="manual", all_profiles=True, **fast(tmp_path))
    with dg.build_schedule_context() as ctx:
        assert linkedin_refresh_monthly.evaluate_tick(ctx).run_requests


def test_retry_sensor_requests_the_remainder_only_when_its_backoff_has_passed(
    db, server, tmp_path, monkeypatch
):
    monkeypatch.setenv("OUTREACH_DATABASE_URL", db)
    seed_tracked_people(db, people_urls(4))
    with dg.build_sensor_context() as ctx:
        assert (
            "no rate-limited refresh"
            in linkedin_refresh_rate_limit_retry.evaluate_tick(ctx).skip_message
        )
    server.configure(rate_limit_on="items", rate_limit_skip=1, rate_limit_count=-1)
    result = refresh_profiles(database_url=db, **fast(tmp_path, page_size=2))
    assert result.rate_limited
    with dg.build_sensor_context() as ctx:
        tick = linkedin_refresh_rate_limit_retry.evaluate_tick(ctx)
    assert not tick.run_requests
    assert "next retry of 2 profiles" in tick.skip_message  # +1 h has not passed yet

    # let the hour pass: the job ended 61 minutes ago
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            "update raw_apify.refresh_jobs set run_completed_at = run_completed_at - interval '61 minutes'"
        )
    with dg.build_sensor_context() as ctx:
        tick = linkedin_refresh_rate_limit_retry.evaluate_tick(ctx)
    (request,) = tick.run_requests
    assert request.tags["outreach/trigger"] == "retry"
    assert request.run_key.endswith("-1")
