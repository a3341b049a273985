"""The MillionVerifier HTTP side (dlt's retrying requests client) against the doc-following
stand-in over real HTTP on 127.0.0.1: every result, HTTP 200 error bodies (credits out, a
rejected key), 429 with Retry-After, 5xx bursts, timeouts, non-JSON bodies, the bulk file
API, bounded concurrency, and no key in logs or errors. No database: the warehouse side is
in test_verifier_load.py."""

from __future__ import annotations

import logging
import time
from collections import Counter

import httpx
import pytest

from loaders.millionverifier import helpers as h
from loaders.millionverifier.helpers import (
    AuthError,
    BulkFileFailed,
    CreditsExhausted,
    RequestFailed,
    mask_api_keys,
)
from testing.millionverifier import MillionVerifierTestServer, classify

KEY = "mv-secret-key-0123456789"
FAST = {"request_backoff_factor": 0, "request_max_retry_delay": 0}  # no waiting between tries


@pytest.fixture
def server():
    with MillionVerifierTestServer(api_key=KEY) as srv:
        yield srv


class Api:
    """The helpers bound to one server, key and client (as run.py uses them)."""

    def __init__(self, server, key=KEY, concurrency=1, timeout_s=10.0, attempts=4, **retry):
        self.stats, self.concurrency = Counter(), concurrency
        retry = {**FAST, "request_max_attempts": attempts, **retry}
        client = h.http_client(server.base_url, concurrency, timeout_s, self.stats, **retry)
        self.api = h.Api(client, server.base_url, key)

    def verify(self, emails):
        return h.verify_many(self.api, list(emails), concurrency=self.concurrency)

    def credits(self):
        return self.api.credits_left()

    def bulk(self, emails, **kw):
        return h.verify_bulk(self.api, list(emails), **kw)


def client(server, key: str = KEY, **kw) -> Api:
    return Api(server, key, **kw)


@pytest.mark.parametrize(
    ("email", "result", "quality", "code"),
    [
        ("ok.jane@acme.com", "ok", "good", 1),
        ("catch_all.joe@acme.com", "catch_all", "risky", 2),
        ("unknown.kim@acme.com", "unknown", "risky", 3),
        ("error.lee@acme.com", "error", None, 4),
        ("disposable.max@acme.com", "disposable", "bad", 5),
        ("invalid.sam@acme.com", "invalid", "bad", 6),
    ],
)
def test_each_result_arrives_as_the_api_gives_it(server, email, result, quality, code):
    outcome = client(server).verify([email])
    assert outcome.stopped is None and not outcome.unanswered
    (answer,) = outcome.answers
    got = tuple(answer[k] for k in ("email", "result", "quality", "resultcode"))
    assert got == (email, result, quality, code)
    assert answer["method"] == "single" and answer["source_url"] == f"{server.base_url}/api/v3/"
    assert answer["checked_at"].tzinfo is not None and answer["response"]["result"] == result


def test_an_http_200_error_body_about_the_address_is_an_answer_not_a_stop(server):
    outcome = client(server).verify(["error.x@acme.com", "ok.y@acme.com"])
    assert outcome.stopped is None
    by_email = {a["email"]: a for a in outcome.answers}
    assert by_email["error.x@acme.com"]["result"] == "error"
    assert by_email["error.x@acme.com"]["error"] == "the domain does not resolve"
    assert by_email["ok.y@acme.com"]["result"] == "ok"


def test_the_test_server_is_deterministic_and_spreads_unnamed_addresses():
    emails = [f"person{i}@company{i % 37}.com" for i in range(2000)]
    first = [classify(e)[0] for e in emails]
    assert first == [classify(e)[0] for e in emails]
    share = {r: first.count(r) / len(first) for r in set(first)}
    assert set(share) == {"ok", "catch_all", "unknown", "invalid", "disposable", "error"}
    assert 0.65 < share["ok"] < 0.75
    assert classify("someone@mailinator.com")[0] == "disposable"
    assert classify("not-an-address")[0] == "invalid"


def test_429s_are_retried_until_an_answer(server):
    server.configure(rate_limit_count=2, fault_endpoints=["verify"])
    c = client(server)
    outcome = c.verify(["ok.a@acme.com"])
    assert [a["result"] for a in outcome.answers] == ["ok"]
    assert c.stats == Counter(requests=3, http_429=2, http_5xx=0)


def test_retry_after_is_honoured_up_to_the_longest_wait(server):
    """The exponential backoff is zero here: any wait comes from Retry-After (1 s), capped
    by request_max_retry_delay."""
    server.configure(rate_limit_count=1, retry_after_s=1, fault_endpoints=["verify"])
    c = client(server, request_max_retry_delay=0.3)
    t = time.perf_counter()
    assert [a["result"] for a in c.verify(["ok.a@acme.com"]).answers] == ["ok"]
    assert 0.3 <= time.perf_counter() - t < 1.0
    server.configure(rate_limit_count=1, retry_after_s=None)
    t = time.perf_counter()
    assert c.verify(["ok.b@acme.com"]).answers and time.perf_counter() - t < 0.3


def test_429s_on_every_attempt_leave_the_email_unanswered_not_stopped(server):
    server.configure(rate_limit_count=100, fault_endpoints=["verify"])
    c = client(server, attempts=3)
    outcome = c.verify(["ok.a@acme.com"])
    assert outcome.answers == [] and outcome.stopped is None
    assert outcome.unanswered == {"ok.a@acme.com": "rate_limited"}
    assert c.stats["requests"] == 3, "the attempts asked for, not dlt's default"


def test_a_burst_of_5xx_is_retried(server):
    server.configure(error_count=3, error_status=502, fault_endpoints=["verify"])
    c = client(server)
    outcome = c.verify(["invalid.a@acme.com"])
    assert [a["result"] for a in outcome.answers] == ["invalid"]
    assert c.stats["http_5xx"] == 3


def test_a_non_json_body_is_retried_then_given_up(server):
    server.configure(garbage_count=1, fault_endpoints=["verify"])
    c = client(server)
    assert [a["result"] for a in c.verify(["ok.a@acme.com"]).answers] == ["ok"]
    assert c.stats["requests"] == 2
    server.configure(garbage_count=100)
    outcome = client(server, attempts=2).verify(["ok.b@acme.com"])
    assert outcome.unanswered == {"ok.b@acme.com": "bad_answer"}
    server.configure(garbage_count=0)


def test_a_slow_answer_within_the_timeout_is_fine_and_a_timeout_is_retried_then_given_up(server):
    server.configure(slow_s=0.05, timeout_s=1.0)
    c = client(server, concurrency=2, timeout_s=0.3, attempts=2)
    outcome = c.verify(["slow.ok.a@acme.com", "timeout.ok.b@acme.com"])
    assert [a["email"] for a in outcome.answers] == ["slow.ok.a@acme.com"]
    assert outcome.unanswered == {"timeout.ok.b@acme.com": "timeout"}
    assert len([r for r in server.requests if r["email"] == "timeout.ok.b@acme.com"]) <= 2


def test_credits_running_out_stops_the_run_with_a_clear_message(server):
    server.configure(credits=3)
    emails = [f"ok.{i}@acme.com" for i in range(8)]
    outcome = client(server).verify(emails)
    assert len(outcome.answers) == 3
    assert isinstance(outcome.stopped, CreditsExhausted)
    assert "credits ran out" in str(outcome.stopped)
    # the third answer reported 0 credits left: nothing more was sent
    assert outcome.not_attempted == emails[3:]
    assert len(server.requests_for("verify")) == 3


def test_an_insufficient_credits_answer_stops_the_run_and_records_nothing_for_it(server):
    server.configure(credits=0)
    outcome = client(server).verify(["ok.a@acme.com", "ok.b@acme.com"])
    assert outcome.answers == [] and outcome.unanswered == {}
    assert isinstance(outcome.stopped, CreditsExhausted)
    assert "Insufficient credits" in str(outcome.stopped)
    assert outcome.not_attempted == ["ok.a@acme.com", "ok.b@acme.com"]


def test_credits_stop_at_concurrency_10_answers_no_more_than_the_credits(server):
    server.configure(credits=5, latency_s=0.01)
    emails = [f"ok.{i}@acme.com" for i in range(40)]
    outcome = client(server, concurrency=10).verify(emails)
    assert len(outcome.answers) == 5
    assert isinstance(outcome.stopped, CreditsExhausted)
    assert len(outcome.answers) + len(outcome.unanswered) + len(outcome.not_attempted) == 40


def test_a_rejected_key_stops_the_run(server):
    outcome = client(server, key="wrong-key").verify(["ok.a@acme.com", "ok.b@acme.com"])
    assert isinstance(outcome.stopped, AuthError)
    assert "Apikey not found" in str(outcome.stopped)
    assert "MILLIONVERIFIER_API_KEY" in str(outcome.stopped)
    assert outcome.answers == []
    with pytest.raises(AuthError):
        client(server, key="wrong-key").credits()


def test_credits_endpoint(server):
    server.configure(credits=42)
    assert client(server).credits() == 42


def test_concurrency_is_bounded(server):
    server.configure(latency_s=0.02)
    emails = [f"ok.{i}@acme.com" for i in range(30)]
    outcome = client(server, concurrency=4).verify(emails)
    assert len(outcome.answers) == 30
    assert server.max_in_flight == 4
    server.reset_counters()
    client(server).verify(emails)
    assert server.max_in_flight == 1


def test_bulk_file_upload_poll_download(server):
    emails = ["ok.a@acme.com", "invalid.b@acme.com", "catch_all.c@acme.com", "info@acme.com"]
    server.configure(bulk_polls=2)
    progress: list[str] = []
    outcome = client(server).bulk(emails, poll_interval_s=0.01, progress=progress.append)
    assert outcome.stopped is None and not outcome.unanswered
    got = {a["email"]: (a["result"], a["quality"], a["role"]) for a in outcome.answers}
    assert got == {
        "ok.a@acme.com": ("ok", "good", False),
        "invalid.b@acme.com": ("invalid", "bad", False),
        "catch_all.c@acme.com": ("catch_all", "risky", False),
        "info@acme.com": ("ok", "risky", True),  # a role address is risky even when ok
    }
    assert {a["method"] for a in outcome.answers} == {"bulk"}
    file_id = outcome.bulk_file_id
    assert all(a["source_url"].endswith(f"file_id={file_id}&filter=all") for a in outcome.answers)
    assert len(server.requests_for("fileinfo")) == 3
    assert any("in_progress" in line for line in progress)


def test_bulk_rows_missing_from_the_results_stay_unanswered(server):
    server.configure(bulk_polls=0, bulk_drop=["ok.b@acme.com"])
    outcome = client(server).bulk(["ok.a@acme.com", "ok.b@acme.com"], poll_interval_s=0)
    assert [a["email"] for a in outcome.answers] == ["ok.a@acme.com"]
    assert outcome.unanswered == {"ok.b@acme.com": "missing_from_bulk_results"}


def test_a_failed_bulk_file_stops_with_its_status(server):
    server.configure(bulk_polls=1, bulk_status="error")
    outcome = client(server).bulk(["ok.a@acme.com"], poll_interval_s=0)
    assert isinstance(outcome.stopped, BulkFileFailed)
    assert "'error'" in str(outcome.stopped)
    assert outcome.answers == [] and outcome.not_attempted == ["ok.a@acme.com"]


def test_a_bulk_file_that_never_finishes_times_out(server):
    server.configure(bulk_polls=10_000)
    outcome = client(server).bulk(["ok.a@acme.com"], poll_interval_s=0.02, timeout_s=0.1)
    assert isinstance(outcome.stopped, BulkFileFailed)
    assert "not finished" in str(outcome.stopped)


def test_a_bulk_upload_without_credits_stops(server):
    server.configure(credits=1)
    outcome = client(server).bulk(["ok.a@acme.com", "ok.b@acme.com"], poll_interval_s=0)
    assert isinstance(outcome.stopped, CreditsExhausted)


def test_bulk_faults_are_retried(server):
    server.configure(
        rate_limit_count=1, error_count=1, garbage_count=1, fault_endpoints=["upload", "download"]
    )
    outcome = client(server).bulk(["ok.a@acme.com"], poll_interval_s=0)
    assert [a["result"] for a in outcome.answers] == ["ok"]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_the_key_never_appears_in_logs_errors_or_answers(server):
    """urllib3 logs every request URL (which carries ?api=KEY): the filter masks it; errors
    never quote a requests exception (their texts carry the URL), even for a rejected key
    or a dead server."""
    capture = _Capture()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(capture)
    texts = []
    try:
        server.configure(
            rate_limit_count=1, error_count=1, garbage_count=1, timeout_s=1.0,
            fault_endpoints=["verify", "upload"],
        )  # fmt: skip
        c = client(server, concurrency=2, timeout_s=0.3, attempts=2)
        outcome = c.verify(["ok.a@acme.com", "timeout.b@acme.com", "error.c@acme.com"])
        bulk = c.bulk(["ok.c@acme.com"], poll_interval_s=0)
        bad = client(server, key=KEY + "-wrong").verify(["ok.d@acme.com"])
        texts += [str(bad.stopped), repr(outcome), repr(bulk)]
        with pytest.raises(AuthError) as rejected:
            client(server, key=KEY + "-wrong").credits()
        texts.append(str(rejected.value))
        dead = Api(server, attempts=1)
        dead.api.base_url = "http://127.0.0.1:9"
        outcome = dead.verify(["ok.e@acme.com"])
        assert outcome.unanswered == {"ok.e@acme.com": "transport_error"}
        with pytest.raises(RequestFailed) as refused:
            dead.credits()
        texts.append(str(refused.value))
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
    assert any("api=***" in line for line in capture.lines), "urllib3 request lines expected"
    blob = "\n".join(capture.lines + texts)
    assert KEY not in blob


def test_mask_api_keys_masks_query_secrets_and_given_values():
    assert mask_api_keys("GET /api/v3/?api=abc&email=x") == "GET /api/v3/?api=***&email=x"
    assert mask_api_keys("POST /bulkapi/v2/upload?key=abc") == "POST /bulkapi/v2/upload?key=***"
    assert mask_api_keys("token abc inside", ["abc"]) == "token *** inside"


def test_the_server_speaks_http_on_loopback_only(server):
    assert server.base_url.startswith("http://127.0.0.1:")
    state = httpx.get(f"{server.base_url}/_test/state", timeout=5).json()
    assert "api_key" not in state["config"]
