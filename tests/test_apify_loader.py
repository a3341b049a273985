"""The Apify LinkedIn loader - the official apify-client underneath - against the
doc-following test-mode server (testing.apify) over real HTTP on 127.0.0.1 and a real
PostgreSQL: the happy path, short pages, every failure mode, idempotence, imports."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from test_apify_support import (
    FIXTURES,
    TOKEN,
    apify_test_server,
    fast,
    job_rows,
    people_urls,
    raw_items,
    reset_apify_state,
    seed_tracked_people,
    table_snapshot,
)

from loaders.apify_linkedin import settings as s
from loaders.apify_linkedin.helpers import dataset_items, make_client, normalize_linkedin_url
from loaders.apify_linkedin.jobs import (
    circuit_breaker_state,
    due_profiles,
    last_completed_refresh,
    rate_limit_state,
)
from loaders.apify_linkedin.run import (
    ApifyConfigError,
    ensure_raw_tables,
    import_dataset,
    land,
    refresh_profiles,
    run_cli,
)
from loaders.apify_linkedin.source import ItemCollector

BARTON_JOB = re.compile(s.JOB_ID_PATTERN)


@pytest.fixture
def db(warehouse):
    """This module's database, emptied of everything the Apify tests write (faster than a
    new database per test)."""
    reset_apify_state(warehouse)
    return warehouse


@pytest.fixture
def server(monkeypatch):
    with apify_test_server(monkeypatch, seed=7) as srv:
        yield srv


def _assert_failed_job(job: dict, total: int, *, message: str) -> None:
    assert job["status"] == "failed"
    assert message.lower() in (job["error_message"] or "").lower(), job["error_message"]
    assert job["total_profiles"] == total
    assert job["profiles_skipped"] == total
    assert job["profiles_completed"] == 0
    assert len(job["metadata"]["skipped_urls"]) == total
    assert job["run_completed_at"] is not None


# ---------------------------------------------------------------------------- happy path
def test_refresh_lands_every_due_profile_and_the_job_moves_pending_running_completed(
    db, server, tmp_path
):
    urls = seed_tracked_people(db, people_urls(5))
    seen_statuses: list[tuple[str, str]] = []

    def progress(message: str) -> None:
        # the job row is visible (committed) at every step while the refresh runs
        with psycopg.connect(db) as conn:
            row = conn.execute(
                "select job_unique_id, status from raw_apify.refresh_jobs order by id desc limit 1"
            ).fetchone()
        if row:
            seen_statuses.append(row)

    result = refresh_profiles(database_url=db, **fast(tmp_path, progress=progress))

    assert [j.status for j in result.jobs] == ["completed"]
    assert [st for _, st in dict.fromkeys(seen_statuses)] == ["pending", "running", "completed"]
    (job,) = job_rows(db)
    assert BARTON_JOB.match(job["job_unique_id"]) and job["id"] == 1
    assert job["job_unique_id"] == "04.04.06.00.00000.001"
    assert (job["status"], job["total_profiles"], job["profiles_skipped"]) == ("completed", 5, 0)
    assert job["profiles_completed"] == 5 and job["items_landed"] == 5
    assert job["actor_id"] == s.DEFAULT_ACTOR_ID and job["run_id"] and job["dataset_id"]
    assert job["run_started_at"] <= job["run_completed_at"]
    assert job["error_message"] is None
    meta = job["metadata"]
    assert meta["trigger"] == "manual" and meta["skipped_urls"] == []
    assert meta["actor_status"] == "SUCCEEDED" and meta["unparsed_items"] == 0

    items = raw_items(db)
    assert len(items) == 5
    assert {normalize_linkedin_url(i["linkedin_url"]) for i in items} == {
        normalize_linkedin_url(u) for u in urls
    }
    assert {i["job_unique_id"] for i in items} == {job["job_unique_id"]}
    assert {i["run_id"] for i in items} == {job["run_id"]}
    assert {i["dataset_id"] for i in items} == {job["dataset_id"]}
    assert all(isinstance(i["item"], dict) and i["item_key"] for i in items)
    with psycopg.connect(db) as conn:
        indexes = [
            r[0]
            for r in conn.execute(
                "select indexdef from pg_indexes "
                "where schemaname = 'raw_apify' and tablename = 'profile_items'"
            )
        ]
    assert any("UNIQUE" in d and "(item_key)" in d for d in indexes)  # never a duplicate
    # the server was asked for exactly the tracked URLs, once, with the bearer token
    starts = [r for r in server.requests if r.endpoint == "start"]
    assert len(starts) == 1 and all(r.authorized for r in server.requests)
    # the official client's own requests: the /actors alias, waitForFinish long-polls
    assert starts[0].path == "/v2/actors/apify~linkedin-profile-scraper/runs"
    assert all("waitForFinish" in r.query for r in server.requests if r.endpoint == "run")


def test_pages_shorter_than_the_limit_are_read_to_the_end_and_every_profile_lands_once(
    db, server, tmp_path
):
    """Issue 14: the server pages at 7 items while 1,000 are asked for; all 34 land."""
    urls = seed_tracked_people(db, people_urls(34))
    server.configure(max_page_size=7)
    result = refresh_profiles(database_url=db, **fast(tmp_path))
    (job,) = job_rows(db)
    assert (job["status"], job["profiles_completed"], job["profiles_skipped"]) == (
        "completed",
        34,
        0,
    )
    assert job["metadata"]["skipped_urls"] == [] and result.profiles_seen == 34
    items = raw_items(db)
    assert len(items) == 34 == len({i["item_key"] for i in items})
    assert {normalize_linkedin_url(i["linkedin_url"]) for i in items} == {
        normalize_linkedin_url(u) for u in urls
    }
    assert [i["item_index"] for i in items] == list(range(34))
    pages = [r for r in server.requests if r.endpoint == "items"]
    assert [int(r.query["offset"]) for r in pages] == [0, 7, 14, 21, 28, 34]
    assert {r.query["limit"] for r in pages} == {"1000"}
    # 34 URLs make an input over 1 KiB: the official client gzips it, the server reads it
    (start,) = [r for r in server.requests if r.endpoint == "start"]
    assert start.content_encoding == "gzip"


def test_the_same_dataset_read_and_landed_again_lands_nothing_new(db, server, tmp_path):
    seed_tracked_people(db, people_urls(9))
    server.configure(max_page_size=4)
    refresh_profiles(database_url=db, **fast(tmp_path))
    (job,) = job_rows(db)
    before = table_snapshot(db)
    client = make_client(server.base_url, TOKEN, max_retries=0)
    collector = ItemCollector(
        job_unique_id=job["job_unique_id"],
        run_id=job["run_id"],
        dataset_id=job["dataset_id"],
        observed_at=job["run_completed_at"],
        loaded_at=job["run_completed_at"],
    )
    land(
        collector,
        dataset_items(client, job["dataset_id"], page_size=1000),
        db,
        pipelines_dir=tmp_path / "dlt",
    )
    assert collector.items_received == 9 and collector.error is None
    assert table_snapshot(db) == before


def test_second_refresh_with_nothing_due_leaves_the_warehouse_unchanged(db, server, tmp_path):
    seed_tracked_people(db, people_urls(4))
    refresh_profiles(database_url=db, **fast(tmp_path))
    before = table_snapshot(db)
    requests_before = len(server.requests)

    again = refresh_profiles(database_url=db, **fast(tmp_path))

    assert again.jobs == [] and again.profiles_due == 0 and again.tracked_profiles == 4
    assert table_snapshot(db) == before
    assert len(server.requests) == requests_before  # not even a call to Apify


def test_profiles_are_due_after_30_days_and_all_refreshes_every_tracked_profile(
    db, server, tmp_path
):
    urls = seed_tracked_people(db, people_urls(3))
    t0 = datetime(2026, 1, 1, 2, tzinfo=UTC)
    refresh_profiles(database_url=db, observed_at=t0, **fast(tmp_path))
    assert due_profiles(db, as_of=t0 + timedelta(days=29)) == []
    new = seed_tracked_people(db, ["https://www.linkedin.com/in/new-hire"])
    assert due_profiles(db, as_of=t0 + timedelta(days=29)) == new  # never observed: due
    assert set(due_profiles(db, as_of=t0 + timedelta(days=31))) == set(urls + new)
    assert len(due_profiles(db, all_profiles=True)) == 4

    everything = refresh_profiles(
        database_url=db, all_profiles=True, observed_at=t0 + timedelta(days=1), **fast(tmp_path)
    )
    assert everything.profiles_due == 4 and everything.profiles_seen == 4
    assert len(raw_items(db)) == 3 + 4  # a new observation per profile (a new dataset)


def test_due_profiles_split_into_jobs_of_at_most_max_profiles(db, server, tmp_path):
    seed_tracked_people(db, people_urls(5))
    result = refresh_profiles(database_url=db, max_profiles=2, **fast(tmp_path))
    assert [j.total_profiles for j in result.jobs] == [2, 2, 1]
    assert all(j.status == "completed" for j in result.jobs)
    ids = [j["job_unique_id"] for j in job_rows(db)]
    assert ids == ["04.04.06.00.00000.001", "04.04.06.00.00000.002", "04.04.06.00.00000.003"]
    assert len({j.run_id for j in result.jobs}) == 3 and len(raw_items(db)) == 5


def test_job_ids_come_from_a_sequence_and_are_never_reused(db, server, tmp_path):
    seed_tracked_people(db, people_urls(1))
    refresh_profiles(database_url=db, **fast(tmp_path))
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("delete from raw_apify.refresh_jobs")  # even if rows vanish ...
    refresh_profiles(database_url=db, all_profiles=True, **fast(tmp_path))
    assert [j["job_unique_id"] for j in job_rows(db)] == ["04.04.06.00.00000.002"]


# ---------------------------------------------------------------------------- run failures
@pytest.mark.parametrize("status", ["FAILED", "TIMED-OUT", "ABORTED"])
def test_actor_run_ending_failed_timed_out_or_aborted_fails_the_job(db, server, tmp_path, status):
    seed_tracked_people(db, people_urls(3))
    server.configure(run_status=status, polls_before_terminal=2)
    result = refresh_profiles(database_url=db, **fast(tmp_path))
    (job,) = job_rows(db)
    _assert_failed_job(job, 3, message=f"ended with status {status}")
    assert job["run_id"] and job["metadata"]["actor_status"] == status
    assert job["metadata"]["error_kind"] == "run_failed"
    assert raw_items(db) == [] and result.jobs[0].status == "failed"


def test_run_that_never_finishes_hits_our_timeout_and_is_aborted(db, server, tmp_path):
    seed_tracked_people(db, people_urls(2))
    server.configure(run_status="RUNNING")
    refresh_profiles(database_url=db, **fast(tmp_path, timeout_s=0.3))
    (job,) = job_rows(db)
    _assert_failed_job(job, 2, message="did not finish within 0.3s")
    assert job["metadata"]["error_kind"] == "timeout"
    assert server.runs[job["run_id"]]["status"] == "ABORTED"  # we asked Apify to stop it
    assert any(r.endpoint == "abort" for r in server.requests)
    assert raw_items(db) == []


@pytest.mark.parametrize("endpoint", ["start", "run", "items"])
def test_a_burst_of_5xx_is_retried_by_the_client_and_the_job_completes(
    db, server, tmp_path, endpoint
):
    seed_tracked_people(db, people_urls(6))
    server.configure(error_on=endpoint, error_status=503, error_count=3, max_page_size=2)
    refresh_profiles(database_url=db, **fast(tmp_path))
    (job,) = job_rows(db)
    assert job["status"] == "completed" and job["profiles_completed"] == 6
    assert len([r for r in server.requests if r.status == 503]) == 3
    assert len(raw_items(db)) == 6


def test_a_gateway_answering_502_with_an_html_body_is_retried(db, server, tmp_path):
    seed_tracked_people(db, people_urls(4))
    server.configure(html_on="items", html_count=2, max_page_size=3)
    refresh_profiles(database_url=db, **fast(tmp_path))
    (job,) = job_rows(db)
    assert job["status"] == "completed" and len(raw_items(db)) == 4
    assert len([r for r in server.requests if r.status == 502]) == 2


def test_a_non_json_body_that_outlasts_the_retries_fails_the_job_with_its_kind(
    db, server, tmp_path
):
    seed_tracked_people(db, people_urls(2))
    server.configure(html_on="run", html_count=-1)
    refresh_profiles(database_url=db, **fast(tmp_path))
    (job,) = job_rows(db)
    _assert_failed_job(job, 2, message="HTTP 502")
    assert job["metadata"]["error_kind"] == "server_error"
    assert "502 Bad Gateway" in job["error_message"]  # what the gateway said, cut short


def test_persistent_5xx_fails_the_job_after_a_bounded_number_of_attempts(db, server, tmp_path):
    seed_tracked_people(db, people_urls(2))
    server.configure(error_on="items", error_status=500, error_count=-1)
    result = refresh_profiles(database_url=db, **fast(tmp_path))
    (job,) = job_rows(db)
    _assert_failed_job(job, 2, message="HTTP 500 internal-server-error from Apify on all 4")
    assert job["metadata"]["error_kind"] == "server_error"
    assert len([r for r in server.requests if r.endpoint == "items"]) == 4
    assert raw_items(db) == [] and result.failed


@pytest.mark.parametrize("status", [403, 404])
def test_4xx_fails_the_job_at_once_without_retrying(db, server, tmp_path, status):
    seed_tracked_people(db, people_urls(2))
    server.configure(error_on="start", error_status=status, error_count=-1)
    refresh_profiles(database_url=db, **fast(tmp_path))
    (job,) = job_rows(db)
    _assert_failed_job(job, 2, message=f"HTTP {status}")
    assert job["run_id"] is None and job["metadata"]["error_kind"] == "http_error"
    assert len([r for r in server.requests if r.endpoint == "start"]) == 1


def test_a_rejected_token_fails_the_job_with_401_and_stops_the_refresh(
    db, server, tmp_path, monkeypatch
):
    seed_tracked_people(db, people_urls(3))
    monkeypatch.setenv("APIFY_TOKEN", "apify_api_wrong_token_0000")
    result = refresh_profiles(database_url=db, max_profiles=1, **fast(tmp_path))
    assert len(result.jobs) == 1 and result.profiles_deferred == 2
    (job,) = job_rows(db)
    _assert_failed_job(job, 1, message="HTTP 401 token-not-valid")


def test_slow_answers_within_the_http_timeout_complete(db, server, tmp_path):
    seed_tracked_people(db, people_urls(2))
    server.configure(slow_seconds=0.1)
    refresh_profiles(database_url=db, **fast(tmp_path, http_timeout_s=2.0))
    assert job_rows(db)[0]["status"] == "completed"


def test_an_answer_slower_than_the_first_timeout_is_retried_with_a_longer_one(db, server, tmp_path):
    seed_tracked_people(db, people_urls(2))
    server.configure(slow_on="items", slow_seconds=0.3)
    refresh_profiles(database_url=db, **fast(tmp_path, http_timeout_s=0.2))
    (job,) = job_rows(db)
    assert job["status"] == "completed" and len(raw_items(db)) == 2
    # the client doubles the timeout per attempt: 0.2 s times out, 0.4 s gets the page
    assert len([r for r in server.requests if r.endpoint == "items"]) >= 3


def test_answers_slower_than_every_timeout_fail_the_job_after_the_retries(db, server, tmp_path):
    seed_tracked_people(db, people_urls(2))
    server.configure(slow_on="items", slow_seconds=2.0)
    refresh_profiles(database_url=db, **fast(tmp_path, http_timeout_s=0.1))
    (job,) = job_rows(db)
    _assert_failed_job(job, 2, message="timed out")
    assert job["metadata"]["error_kind"] == "transport_error"
    assert raw_items(db) == []


# ---------------------------------------------------------------------------- datasets
def test_empty_dataset_fails_the_job(db, server, tmp_path):
    seed_tracked_people(db, people_urls(3))
    server.configure(dataset="empty")
    refresh_profiles(database_url=db, **fast(tmp_path))
    (job,) = job_rows(db)
    _assert_failed_job(job, 3, message="is empty")
    assert job["metadata"]["error_kind"] == "empty_dataset" and raw_items(db) == []


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("malformed", "is not valid JSON"),
        ("no_profiles", "none of its 3 items is a LinkedIn profile"),
    ],
)
def test_malformed_dataset_fails_the_job_and_lands_nothing(db, server, tmp_path, mode, message):
    seed_tracked_people(db, people_urls(3))
    server.configure(dataset=mode)
    refresh_profiles(database_url=db, **fast(tmp_path, page_size=2))
    (job,) = job_rows(db)
    _assert_failed_job(job, 3, message=message)
    assert job["metadata"]["error_kind"] == "malformed_dataset"
    assert raw_items(db) == []  # not even the pages that parsed


def test_profiles_missing_from_the_dataset_are_skipped_counted_and_listed(db, server, tmp_path):
    urls = seed_tracked_people(db, people_urls(10))
    server.configure(dataset="partial", partial_fraction=0.4)
    result = refresh_profiles(database_url=db, **fast(tmp_path))
    (job,) = job_rows(db)
    skipped = job["metadata"]["skipped_urls"]
    served = {normalize_linkedin_url(i["linkedin_url"]) for i in raw_items(db)}
    assert job["status"] == "completed"
    assert 0 < len(skipped) < 10 and job["profiles_skipped"] == len(skipped)
    assert job["profiles_completed"] == 10 - len(skipped) == len(served)
    assert set(skipped) <= set(urls)  # listed as the warehouse writes them
    assert not {normalize_linkedin_url(u) for u in skipped} & served
    assert result.profiles_skipped == len(skipped)
    # they stay in the queue for the next refresh
    assert set(due_profiles(db)) == set(skipped)


def test_items_that_are_no_usable_profile_land_raw_and_are_counted_as_unparsed(
    db, server, tmp_path
):
    urls = seed_tracked_people(db, people_urls(10))
    server.configure(dataset="some_unusable", max_page_size=4)
    messages: list[str] = []
    result = refresh_profiles(database_url=db, **fast(tmp_path, progress=messages.append))
    (job,) = job_rows(db)
    meta = job["metadata"]
    # items 0 and 5 are error items, plus one bare string: 3 unparsed, none dropped
    assert meta["unparsed_items"] == 3 and meta["items_received"] == 11
    assert job["items_landed"] == 11 and len(raw_items(db)) == 11
    assert job["status"] == "completed" and job["profiles_completed"] == 8
    (dataset,) = server.datasets.values()
    private = [i["inputUrl"] for i in dataset if isinstance(i, dict) and "error" in i]
    assert len(private) == 2 and sorted(meta["skipped_urls"]) == sorted(private)  # no departure
    assert set(private) <= set(urls)
    assert result.unparsed_items == 3 and result.summary()["unparsed_items"] == 3
    (warning,) = [m for m in messages if m.startswith("warning:")]
    assert "3 of 11 items are not usable profile observations" in warning
    assert "3 unparsed items" in result.render()
    bare = [i for i in raw_items(db) if i["item"] == "not an object"]
    assert len(bare) == 1 and bare[0]["linkedin_url"] is None


def test_duplicate_items_in_a_dataset_land_once(db, server, tmp_path):
    seed_tracked_people(db, people_urls(9))
    server.configure(duplicates=True, shape="flat")
    refresh_profiles(database_url=db, **fast(tmp_path))
    (job,) = job_rows(db)
    items = raw_items(db)
    meta = job["metadata"]
    assert job["status"] == "completed" and job["profiles_completed"] == 9
    assert meta["duplicate_items"] == 3  # verbatim repeats dropped before landing
    assert len({i["item_key"] for i in items}) == len(items) == meta["items_received"] - 3
    # a repeat under another URL form is a distinct raw item; staging collapses it
    assert len({normalize_linkedin_url(i["linkedin_url"]) for i in items}) == 9


# ---------------------------------------------------------------------------- rate limits
def test_a_429_burst_is_absorbed_by_backoff(db, server, tmp_path):
    seed_tracked_people(db, people_urls(4))
    server.configure(rate_limit_on="items", rate_limit_count=2, retry_after_s=30)
    refresh_profiles(database_url=db, **fast(tmp_path, page_size=2))
    (job,) = job_rows(db)
    assert job["status"] == "completed" and job["profiles_completed"] == 4
    assert len([r for r in server.requests if r.status == 429]) == 2
    assert "rate_limit_hit" not in job["metadata"] and len(raw_items(db)) == 4
    assert not rate_limit_state(db).limited


def test_persistent_429_keeps_what_arrived_and_schedules_retries_of_the_remainder(
    db, server, tmp_path
):
    urls = seed_tracked_people(db, people_urls(6))
    server.configure(rate_limit_on="items", rate_limit_skip=1, rate_limit_count=-1)

    first = refresh_profiles(database_url=db, **fast(tmp_path, page_size=2))

    (job,) = job_rows(db)
    meta = job["metadata"]
    assert job["status"] == "completed"  # partial success
    assert first.rate_limited and first.retry_after_seconds == 3600
    assert meta["rate_limit_hit"] is True and meta["retry_after_seconds"] == 3600
    assert meta["profiles_attempted"] == 6
    assert meta["profiles_completed"] == 2 and meta["profiles_rate_limited"] == 4
    assert job["profiles_skipped"] == 4 and len(meta["skipped_urls"]) == 4
    assert len(raw_items(db)) == 2
    state = rate_limit_state(db)
    assert (state.limited, state.attempt, state.retry_after_seconds) == (True, 1, 3600)
    assert state.remaining_profiles == 4
    assert state.next_retry_at == job["run_completed_at"] + timedelta(hours=1)

    # the orchestrator's retries: +6 h, then +24 h, then give up until the next schedule
    for expected in (21600, 86400, None):
        server.configure(rate_limit_on="items", rate_limit_skip=0, rate_limit_count=-1)
        retry = refresh_profiles(database_url=db, trigger="retry", **fast(tmp_path))
        assert retry.jobs[0].status == "failed" and retry.retry_after_seconds == expected
        assert rate_limit_state(db).retry_after_seconds == expected

    server.reset_faults()
    done = refresh_profiles(database_url=db, trigger="manual", **fast(tmp_path))
    assert done.profiles_due == 4 and done.jobs[0].status == "completed"
    assert not rate_limit_state(db).limited
    assert {normalize_linkedin_url(i["linkedin_url"]) for i in raw_items(db)} == {
        normalize_linkedin_url(u) for u in urls
    }


def test_429_before_any_profile_arrived_fails_the_job_and_defers_later_batches(
    db, server, tmp_path
):
    seed_tracked_people(db, people_urls(6))
    server.configure(rate_limit_on="start", rate_limit_count=-1)
    result = refresh_profiles(database_url=db, max_profiles=2, **fast(tmp_path))
    assert len(result.jobs) == 1 and result.profiles_deferred == 4
    (job,) = job_rows(db)
    _assert_failed_job(job, 2, message="rate limited")
    meta = job["metadata"]
    assert meta["rate_limit_hit"] and meta["profiles_rate_limited"] == 2
    assert meta["retry_after_seconds"] == 3600 and meta["error_kind"] == "rate_limited"
    assert meta["rate_limit_attempts"] == 4
    assert len([r for r in server.requests if r.status == 429]) == 4  # bounded


# ---------------------------------------------------------------------------- breaker
def test_three_failed_jobs_open_the_breaker_until_a_manual_run_succeeds(db, server, tmp_path):
    seed_tracked_people(db, people_urls(2))
    server.configure(run_status="FAILED")
    for trigger in ("scheduled", "scheduled", "manual"):
        refresh_profiles(database_url=db, trigger=trigger, **fast(tmp_path))
        assert not circuit_breaker_state(db)[0] or trigger == "manual"
    is_open, reason = circuit_breaker_state(db)
    assert is_open and "3 consecutive failed refresh jobs" in reason
    assert "ended with status FAILED" in reason

    server.reset_faults()
    jobs_before = len(job_rows(db))
    for trigger in ("scheduled", "retry"):
        skipped = refresh_profiles(database_url=db, trigger=trigger, **fast(tmp_path))
        assert skipped.jobs == [] and "circuit breaker open" in skipped.skipped_reason
        assert "refresh skipped: circuit breaker open" in skipped.render()
    assert len(job_rows(db)) == jobs_before  # skipped runs start nothing

    server.configure(run_status="FAILED")
    refresh_profiles(database_url=db, trigger="manual", **fast(tmp_path))
    assert circuit_breaker_state(db)[0]  # a failing manual run keeps it open

    server.reset_faults()
    manual = refresh_profiles(database_url=db, trigger="manual", **fast(tmp_path))
    assert manual.ok and circuit_breaker_state(db) == (
        False,
        "closed: 0 consecutive failed job(s); opens at 3",
    )
    scheduled = refresh_profiles(
        database_url=db, trigger="scheduled", all_profiles=True, **fast(tmp_path)
    )
    assert scheduled.skipped_reason is None and scheduled.ok


def test_a_completed_job_resets_the_failure_count(db, server, tmp_path):
    seed_tracked_people(db, people_urls(1))
    for status in ("FAILED", "FAILED", "SUCCEEDED", "FAILED", "FAILED"):
        server.configure(run_status=status)
        refresh_profiles(database_url=db, all_profiles=True, trigger="scheduled", **fast(tmp_path))
    assert circuit_breaker_state(db)[0] is False


# ---------------------------------------------------------------------------- imports
def test_import_lands_an_exported_dataset_as_its_own_job(db, tmp_path):
    result = import_dataset(
        FIXTURES / "dataset_export.json",
        observed_at="2025-06-30T12:00:00Z",
        database_url=db,
        progress=lambda _m: None,
        pipelines_dir=tmp_path / "dlt",
    )
    (job,) = job_rows(db)
    assert result.jobs[0].status == job["status"] == "completed"
    assert job["metadata"]["trigger"] == "import" and job["actor_id"] is None
    assert job["metadata"]["source_file"] == "dataset_export.json"
    assert job["dataset_id"].startswith("file-") and job["run_id"] is None
    assert job["total_profiles"] == 3  # Ada (twice in the file), Grace, Alan
    assert job["metadata"]["duplicate_items"] == 1
    assert job["metadata"]["unparsed_items"] == 1  # the error item lands raw, is no profile
    items = raw_items(db)
    assert len(items) == 4
    assert {i["observed_at"] for i in items} == {datetime(2025, 6, 30, 12, tzinfo=UTC)}
    # ISO-looking strings inside items stay text (no dlt date coercion)
    ada = next(i for i in items if i["full_name"] == "Ada Lovelace")
    assert (
        ada["item"]["connectedOn"] == "2024-05-01" and ada["job_title"] == "Chief Financial Officer"
    )
    grace = next(i for i in items if i["first_name"] == "Grace")
    assert grace["experience"][0]["startDate"] == "1986-09" and grace["full_name"] is None


def test_importing_the_same_dataset_twice_lands_nothing_new(db, tmp_path):
    kwargs = {"database_url": db, "progress": lambda _m: None, "pipelines_dir": tmp_path / "d"}
    import_dataset(FIXTURES / "dataset_export.json", observed_at="2025-06-30", **kwargs)
    before = table_snapshot(db)["raw_apify.profile_items"]

    again = import_dataset(FIXTURES / "dataset_export.jsonl", observed_at="2025-07-31", **kwargs)

    assert again.jobs[0].status == "completed" and again.jobs[0].items_landed == 0
    assert table_snapshot(db)["raw_apify.profile_items"] == before
    first, second = job_rows(db)
    assert first["dataset_id"] == second["dataset_id"]  # JSON Lines of the same items


@pytest.mark.parametrize(
    ("name", "message"),
    [("dataset_truncated.json", "is malformed"), ("dataset_empty.json", "is empty")],
)
def test_importing_a_malformed_or_empty_file_fails_its_job(db, tmp_path, name, message):
    result = import_dataset(
        FIXTURES / name, database_url=db, progress=lambda _m: None, pipelines_dir=tmp_path
    )
    (job,) = job_rows(db)
    assert result.jobs[0].status == job["status"] == "failed"
    assert message in job["error_message"] and raw_items(db) == []
    assert job["profiles_skipped"] == job["total_profiles"] == 0


def test_import_refuses_a_missing_file_or_a_bad_observed_at_without_a_job(db, tmp_path):
    with pytest.raises(ApifyConfigError, match="no such dataset file"):
        import_dataset(tmp_path / "nope.json", database_url=db)
    with pytest.raises(ApifyConfigError, match="not an ISO-8601"):
        import_dataset(
            FIXTURES / "dataset_export.json", observed_at="last tuesday", database_url=db
        )
    with psycopg.connect(db) as conn:
        assert conn.execute("select to_regclass('raw_apify.refresh_jobs')").fetchone()[0] is None


# ---------------------------------------------------------------------------- config
def test_without_a_token_outside_test_mode_nothing_starts(db, tmp_path, monkeypatch):
    seed_tracked_people(db, people_urls(1))
    monkeypatch.delenv("OUTREACH_TEST_MODE", raising=False)
    monkeypatch.delenv("APIFY_TOKEN", raising=False)
    with pytest.raises(ApifyConfigError, match="APIFY_TOKEN is not set"):
        refresh_profiles(database_url=db, **fast(tmp_path))
    assert job_rows(db) == []


def test_test_mode_starts_its_own_server_with_the_warehouse_people(db, tmp_path, monkeypatch):
    seed_tracked_people(
        db,
        [
            {
                "linkedin_url": "https://www.linkedin.com/in/jane-roe",
                "full_name": "Jane Roe",
                "title": "Chief Financial Officer",
            }
        ],
    )
    monkeypatch.setenv("OUTREACH_TEST_MODE", "true")
    monkeypatch.delenv("APIFY_BASE_URL", raising=False)
    monkeypatch.delenv("APIFY_TOKEN", raising=False)
    messages: list[str] = []
    result = refresh_profiles(database_url=db, **fast(tmp_path, progress=messages.append))
    assert result.ok and any("started the local Apify test server" in m for m in messages)
    (item,) = raw_items(db)
    name = item["full_name"] or f"{item['first_name']} {item['last_name']}"
    title = item["job_title"] or item["experience"][0]["position"]
    assert (name, title) == ("Jane Roe", "Chief Financial Officer")


def test_result_summary_and_last_completed_refresh_for_the_orchestrator(db, server, tmp_path):
    assert last_completed_refresh(db) is None
    seed_tracked_people(db, people_urls(4))
    server.configure(dataset="partial", partial_fraction=0.5)
    result = refresh_profiles(database_url=db, trigger="scheduled", **fast(tmp_path))
    summary = result.summary()
    (job,) = job_rows(db)
    assert summary["jobs"] == 1 and summary["jobs_failed"] == 0
    assert summary["profiles_seen"] + summary["profiles_skipped"] == 4
    assert summary["profiles_per_hour"] > 0 and job["job_unique_id"] in summary["jobs_table"]
    assert last_completed_refresh(db) == job["run_completed_at"]
    import_dataset(
        FIXTURES / "dataset_export.json",
        database_url=db,
        progress=lambda _m: None,
        pipelines_dir=tmp_path / "dlt",
    )
    assert last_completed_refresh(db) == job["run_completed_at"]  # imports are no refresh


def test_cli_entry_point_prints_a_summary_and_exits_by_outcome(
    db, server, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("OUTREACH_STATE_DIR", str(tmp_path))  # dlt's working dir
    seed_tracked_people(db, people_urls(2))
    server.configure(polls_before_terminal=0)  # no 5 s poll wait with the CLI's defaults
    assert run_cli() == 0
    out = capsys.readouterr().out
    assert "1 job(s)" in out and "04.04.06.00.00000.001 completed: 2/2 profiles" in out

    server.configure(polls_before_terminal=0, run_status="FAILED")
    assert run_cli(all_profiles=True) == 1
    assert "ended with status FAILED" in capsys.readouterr().out

    assert run_cli(from_file=FIXTURES / "dataset_export.json", observed_at="2025-01-31") == 0
    assert run_cli(from_file=tmp_path / "missing.json") == 2
    assert "error: no such dataset file" in capsys.readouterr().err
    assert run_cli(observed_at="2025-01-31") == 2
    assert TOKEN not in capsys.readouterr().out


def test_ensure_raw_tables_creates_the_empty_tables_once_and_loads_still_work(
    fresh_warehouse, server, tmp_path, monkeypatch
):
    db = fresh_warehouse  # an empty database: the module's has the raw tables already
    monkeypatch.setenv("OUTREACH_STATE_DIR", str(tmp_path))  # dlt's working dir
    assert ensure_raw_tables(db) is True
    assert ensure_raw_tables(db) is False
    assert raw_items(db) == [] and job_rows(db) == []
    seed_tracked_people(db, people_urls(2))
    assert refresh_profiles(database_url=db, **fast(tmp_path)).ok
    assert len(raw_items(db)) == 2


def test_unknown_trigger_is_refused(db):
    with pytest.raises(ApifyConfigError, match="trigger"):
        refresh_profiles(database_url=db, trigger="import")
