"""The MillionVerifier client against the test-mode server over real HTTP on 127.0.0.1:
every result, every error path (credits out, 429, 5xx, timeouts, HTTP 200 error bodies,
a rejected key), the bulk file API, bounded concurrency, and no key in logs or errors.
No database: the warehouse side is in test_verifier_load.py and test_queues_e2e.py."""

from __future__ import annotations

import logging
import random

import httpx
import pytest

from loaders.millionverifier.helpers import (
    AuthError,
    BulkFileFailed,
    CreditsExhausted,
    MillionVerifierClient,
    RequestFailed,
    RetryPolicy,
    redact,
)
from loaders.millionverifier.testserver import MillionVerifierTestServer, classify

KEY = "mv-secret-key-0123456789"
FAST = dict(base_s=0.01, max_s=0.05, jitter=0.1)


@pytest.fixture
def server():
    with MillionVerifierTestServer(api_key=KEY) as srv:
        yield srv


def client(server, key: str = KEY, **kw) -> MillionVerifierClient:
    retry = RetryPolicy(max_attempts=kw.pop("max_attempts", 4), rng=random.Random(1), **FAST)
    return MillionVerifierClient(server.base_url, key, retry=retry, **kw)


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
    outcome = client(server).verify_many([email], concurrency=1)
    assert outcome.stopped is None and not outcome.unanswered
    (answer,) = outcome.answers
    assert (answer.email, answer.result, answer.quality, answer.resultcode) == (
        email,
        result,
        quality,
        code,
    )
    assert answer.method == "single" and answer.source_url == f"{server.base_url}/api/v3/"
    assert answer.checked_at.tzinfo is not None


def test_an_http_200_error_body_about_the_address_is_an_answer_not_a_stop(server):
    outcome = client(server).verify_many(["error.x@acme.com", "ok.y@acme.com"], concurrency=1)
    assert outcome.stopped is None
    by_email = {a.email: a for a in outcome.answers}
    assert by_email["error.x@acme.com"].result == "error"
    assert by_email["error.x@acme.com"].error == "the domain does not resolve"
    assert by_email["ok.y@acme.com"].result == "ok"


def test_the_test_server_is_deterministic_and_spreads_unnamed_addresses():
    emails = [f"person{i}@company{i % 37}.com" for i in range(2000)]
    first = [classify(e)[0] for e in emails]
    assert first == [classify(e)[0] for e in emails]
    share = {r: first.count(r) / len(first) for r in set(first)}
    assert set(share) == {"ok", "catch_all", "unknown", "invalid", "disposable", "error"}
    assert 0.65 < share["ok"] < 0.75
    assert classify("someone@mailinator.com")[0] == "disposable"
    assert classify("not-an-address")[0] == "invalid"


def test_429s_are_retried_with_backoff_until_an_answer(server):
    server.configure(rate_limit_count=2, fault_endpoints=["verify"])
    c = client(server)
    outcome = c.verify_many(["ok.a@acme.com"], concurrency=1)
    assert [a.result for a in outcome.answers] == ["ok"]
    assert c.stats.rate_limited == 2 and c.stats.requests == 3
    assert c.stats.backoff_s > 0


def test_retry_after_is_honoured(server):
    server.configure(rate_limit_count=1, retry_after_s=0.2, fault_endpoints=["verify"])
    c = client(server)
    outcome = c.verify_many(["ok.a@acme.com"], concurrency=1)
    assert outcome.answers and c.stats.backoff_s == pytest.approx(0.05)  # capped at max_s


def test_429s_on_every_attempt_leave_the_email_unanswered_not_stopped(server):
    server.configure(rate_limit_count=100, fault_endpoints=["verify"])
    outcome = client(server, max_attempts=3).verify_many(["ok.a@acme.com"], concurrency=1)
    assert outcome.answers == [] and outcome.stopped is None
    assert outcome.unanswered == {"ok.a@acme.com": "rate_limited"}


def test_5xx_are_retried(server):
    server.configure(error_count=2, error_status=502, fault_endpoints=["verify"])
    c = client(server)
    outcome = c.verify_many(["invalid.a@acme.com"], concurrency=1)
    assert [a.result for a in outcome.answers] == ["invalid"]
    assert c.stats.server_errors == 2


def test_a_slow_answer_within_the_timeout_is_fine_and_a_timeout_is_retried_then_given_up(server):
    server.configure(slow_s=0.1, timeout_s=2.5)
    c = client(server, http_timeout_s=1.0, max_attempts=2)
    outcome = c.verify_many(["slow.ok.a@acme.com", "timeout.ok.b@acme.com"], concurrency=2)
    assert [a.email for a in outcome.answers] == ["slow.ok.a@acme.com"]
    assert outcome.unanswered == {"timeout.ok.b@acme.com": "timeout"}
    assert c.stats.timeouts == 2


def test_credits_running_out_stops_the_run_with_a_clear_message(server):
    server.configure(credits=3)
    emails = [f"ok.{i}@acme.com" for i in range(8)]
    outcome = client(server).verify_many(emails, concurrency=1)
    assert len(outcome.answers) == 3
    assert isinstance(outcome.stopped, CreditsExhausted)
    assert "credits ran out" in str(outcome.stopped)
    # the third answer reported 0 credits left: nothing more was sent
    assert outcome.not_attempted == emails[3:]
    assert len(server.requests_for("verify")) == 3


def test_an_insufficient_credits_answer_stops_the_run_and_records_nothing_for_it(server):
    server.configure(credits=0)
    outcome = client(server).verify_many(["ok.a@acme.com", "ok.b@acme.com"], concurrency=1)
    assert outcome.answers == []
    assert isinstance(outcome.stopped, CreditsExhausted)
    assert "Insufficient credits" in str(outcome.stopped)
    assert outcome.unanswered == {"ok.a@acme.com": "credits_exhausted"}
    assert outcome.not_attempted == ["ok.b@acme.com"]


def test_credits_stop_at_concurrency_10_answers_no_more_than_the_credits(server):
    server.configure(credits=5, latency_s=0.01)
    emails = [f"ok.{i}@acme.com" for i in range(40)]
    outcome = client(server).verify_many(emails, concurrency=10)
    assert len(outcome.answers) == 5
    assert isinstance(outcome.stopped, CreditsExhausted)
    assert len(outcome.answers) + len(outcome.unanswered) + len(outcome.not_attempted) == 40


def test_a_rejected_key_stops_the_run(server):
    outcome = client(server, key="wrong-key").verify_many(["ok.a@acme.com", "ok.b@acme.com"])
    assert isinstance(outcome.stopped, AuthError)
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
    outcome = client(server).verify_many(emails, concurrency=4)
    assert len(outcome.answers) == 30
    assert server.max_in_flight == 4
    server.reset_counters()
    client(server).verify_many(emails, concurrency=1)
    assert server.max_in_flight == 1


def test_bulk_file_upload_poll_download(server):
    emails = ["ok.a@acme.com", "invalid.b@acme.com", "catch_all.c@acme.com", "info@acme.com"]
    server.configure(bulk_polls=2)
    progress: list[str] = []
    outcome = client(server).verify_bulk(emails, poll_interval_s=0.01, progress=progress.append)
    assert outcome.stopped is None and not outcome.unanswered
    got = {a.email: (a.result, a.quality, a.role) for a in outcome.answers}
    assert got == {
        "ok.a@acme.com": ("ok", "good", False),
        "invalid.b@acme.com": ("invalid", "bad", False),
        "catch_all.c@acme.com": ("catch_all", "risky", False),
        "info@acme.com": (classify("info@acme.com")[0], got["info@acme.com"][1], True),
    }
    assert {a.method for a in outcome.answers} == {"bulk"}
    file_id = outcome.bulk_file_id
    assert all(a.source_url.endswith(f"file_id={file_id}&filter=all") for a in outcome.answers)
    assert len(server.requests_for("fileinfo")) == 3
    assert any("in_progress" in line for line in progress)


def test_bulk_rows_missing_from_the_results_stay_unanswered(server):
    server.configure(bulk_polls=0, bulk_drop=["ok.b@acme.com"])
    outcome = client(server).verify_bulk(["ok.a@acme.com", "ok.b@acme.com"], poll_interval_s=0)
    assert [a.email for a in outcome.answers] == ["ok.a@acme.com"]
    assert outcome.unanswered == {"ok.b@acme.com": "missing_from_bulk_results"}


def test_a_failed_bulk_file_stops_with_its_status(server):
    server.configure(bulk_polls=1, bulk_status="error")
    outcome = client(server).verify_bulk(["ok.a@acme.com"], poll_interval_s=0)
    assert isinstance(outcome.stopped, BulkFileFailed)
    assert "'error'" in str(outcome.stopped)
    assert outcome.answers == [] and outcome.not_attempted == ["ok.a@acme.com"]


def test_a_bulk_file_that_never_finishes_times_out(server):
    server.configure(bulk_polls=10_000)
    outcome = client(server).verify_bulk(["ok.a@acme.com"], poll_interval_s=0.02, timeout_s=0.1)
    assert isinstance(outcome.stopped, BulkFileFailed)
    assert "not finished" in str(outcome.stopped)


def test_a_bulk_upload_without_credits_stops(server):
    server.configure(credits=1)
    outcome = client(server).verify_bulk(["ok.a@acme.com", "ok.b@acme.com"], poll_interval_s=0)
    assert isinstance(outcome.stopped, CreditsExhausted)


def test_bulk_faults_are_retried(server):
    server.configure(rate_limit_count=1, error_count=1, fault_endpoints=["upload", "download"])
    outcome = client(server).verify_bulk(["ok.a@acme.com"], poll_interval_s=0)
    assert [a.result for a in outcome.answers] == ["ok"]


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_the_key_never_appears_in_logs_errors_or_answers(server):
    """httpx logs every request URL (which carries ?api=KEY): the filter masks it; errors
    and reprs never carry it either, even for a key the API rejects."""
    capture = _Capture()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(capture)
    try:
        server.configure(
            rate_limit_count=1, error_count=1, timeout_s=2.0, fault_endpoints=["verify", "upload"]
        )
        c = client(server, http_timeout_s=0.8, max_attempts=2)
        texts = [repr(c)]
        outcome = c.verify_many(["ok.a@acme.com", "timeout.b@acme.com"], concurrency=2)
        bulk = c.verify_bulk(["ok.c@acme.com"], poll_interval_s=0)
        bad = client(server, key=KEY + "-wrong").verify_many(["ok.d@acme.com"])
        texts += [str(bad.stopped), repr(outcome), repr(bulk)]
        try:
            client(server, key=KEY + "-wrong").credits()
        except AuthError as exc:
            texts.append(str(exc))
        # a transport error's text (connection refused) passes through our redaction
        dead = MillionVerifierClient("http://127.0.0.1:9", KEY, retry=RetryPolicy(max_attempts=1))
        texts.append(repr(dead.verify_many(["ok.e@acme.com"]).unanswered))
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
    assert any("api=***" in line for line in capture.lines), "httpx request lines expected"
    blob = "\n".join(capture.lines + texts)
    assert KEY not in blob


def test_redact_masks_query_secrets_and_given_values():
    assert redact("GET /api/v3/?api=abc&email=x") == "GET /api/v3/?api=***&email=x"
    assert redact("POST /bulkapi/v2/upload?key=abc") == "POST /bulkapi/v2/upload?key=***"
    assert redact("token abc inside", ["abc"]) == "token *** inside"


def test_request_failed_carries_a_reason():
    exc = RequestFailed("x", reason="timeout")
    assert exc.reason == "timeout" and exc.kind == "request_failed"


def test_the_server_speaks_http_on_loopback_only(server):
    assert server.base_url.startswith("http://127.0.0.1:")
    state = httpx.get(f"{server.base_url}/_test/state", timeout=5).json()
    assert "api_key" not in state["config"]
