"""MillionVerifier against its documents: the published answers (tests/fixtures/
millionverifier/, each file's source in its README) through the loader's parsing, the
stand-in checked against them, and the live loader over real HTTP on 127.0.0.1 against the
doc-following stand-in with a 5xx burst, 429 + Retry-After, timeouts and non-JSON bodies:
every answered email lands exactly once, and re-runs over the queue converge."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from loaders.millionverifier import answers_table, check_id, millionverifier_source
from loaders.millionverifier import helpers as h
from loaders.millionverifier.run import ensure_raw_tables, verifier_pipeline, verify_emails
from testing.millionverifier import ENDPOINTS, MillionVerifierTestServer, answer_for, bad_key_answer

FIXTURES = Path(__file__).parent / "fixtures" / "millionverifier"
KEY = "mv-docs-secret-5a4b3c2d1e"
# more attempts than faults switched on below: no email can run out of attempts on them
FAST = {"request_max_attempts": 8, "request_backoff_factor": 0, "request_max_retry_delay": 0.05}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_every_fixture_names_its_source():
    readme = (FIXTURES / "README.md").read_text()
    for path in FIXTURES.glob("*.json"):
        assert f"`{path.name}`" in readme, f"{path.name} has no _source line"


@pytest.mark.parametrize("name", ["verify_ok.json", "verify_invalid.json"])
def test_documented_answers_parse_into_typed_rows(name):
    body = fixture(name)
    assert h.account_error(body) is None
    row = h.answer_row(body["email"], body, method="single", source_url="https://x/api/v3/")
    assert (row["result"], row["quality"], row["resultcode"]) == (
        body["result"], body["quality"], body["resultcode"],
    )  # fmt: skip
    assert row["free"] is False and row["role"] is False and row["livemode"] is True
    assert row["credits"] == body["credits"] and row["executiontime"] == body["executiontime"]
    assert row["didyoumean"] is None and row["error"] is None  # empty texts are no text
    table = answers_table([row], "run-1")
    assert table.num_rows == 1 and json.loads(table["response"][0].as_py()) == body


def test_documented_error_bodies_stop_the_run_with_what_the_api_said():
    rejected = h.account_error(fixture("verify_error_apikey.json"))
    assert isinstance(rejected, h.AuthError) and "Apikey not found" in str(rejected)
    out = h.account_error(fixture("verify_error_credits.json"))
    assert isinstance(out, h.CreditsExhausted) and "Insufficient credits" in str(out)
    # an HTTP 200 `result: error` about the address itself is an answer, not a stop
    about_address = {**fixture("verify_ok.json"), "result": "error", "resultcode": 4}
    assert h.account_error(about_address) is None


def test_the_stand_in_answers_in_the_documented_shapes():
    assert set(answer_for("ok.jane@acme.com", 10)) == set(fixture("verify_ok.json"))
    assert bad_key_answer("test@example.com") == fixture("verify_error_apikey.json")
    with MillionVerifierTestServer(api_key=KEY) as server:
        import httpx

        credits = httpx.get(f"{server.base_url}/api/v3/credits", params={"api": KEY}).json()
        assert set(credits) == set(fixture("credits.json"))
        upload = httpx.post(
            f"{server.base_url}/bulkapi/v2/upload",
            params={"key": KEY},
            files={"file_contents": ("e.csv", b"email\nok.a@acme.com\n", "text/csv")},
        ).json()
        assert set(upload) == set(fixture("bulk_upload.json"))
        assert isinstance(upload["file_id"], str) and upload["status"] == "unknown"


# ------------------------------------------------------------------ the live loader
EMAILS = [f"ok.p{i}@acme.com" for i in range(24)] + [
    "invalid.q@acme.com",
    "catch_all.r@acme.com",
    "error.s@acme.com",
    "slow.ok.t@acme.com",  # slower than the client waits in the first run
    "slow.unknown.u@acme.com",
]


@pytest.fixture
def queue(warehouse, tmp_path):
    """A stand-in for people.due_email_recheck_30d with its published columns: the
    addresses without a check (dbt's real view is tested end to end elsewhere)."""
    values = ", ".join(f"({i}, '{e}')" for i, e in enumerate(EMAILS))
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute("drop schema if exists people cascade; create schema people")
        ensure_raw_tables(warehouse, tmp_path / "dlt")
        conn.execute(
            f"""
            create view people.due_email_recheck_30d as
            select q.contact_id::bigint, q.email as full_name, q.email,
                   'gray'::text as email_status, null::timestamptz as last_checked_at
            from (values {values}) as q (contact_id, email)
            where not exists (select 1 from raw_verifier.email_checks c where c.email = q.email)
            """
        )
    yield warehouse
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute("drop schema people cascade")


def landed(url: str) -> list[tuple[str, int]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select email, count(*) from raw_verifier.email_checks group by 1 order by 1"
        ).fetchall()


def test_the_live_loader_survives_what_the_docs_allow_and_reruns_converge(queue, tmp_path):
    url = queue
    with MillionVerifierTestServer(api_key=KEY, slow_s=1.0) as server:

        def run(**kw):
            return verify_emails(
                database_url=url, base_url=server.base_url, api_key=KEY, concurrency=4,
                retry=FAST, progress=lambda _m: None, pipelines_dir=tmp_path / "dlt", **kw,
            )  # fmt: skip

        server.configure(
            error_count=3, error_status=503, rate_limit_count=2, retry_after_s=1,
            garbage_count=2, fault_endpoints=["verify"],
        )  # fmt: skip
        first = run(http_timeout_s=0.3, land_batch=10)
        assert first.status == "partial"
        assert first.unanswered == {"timeout": 2}
        assert first.http["http_5xx"] == 3 and first.http["http_429"] == 2
        assert first.answered == len(EMAILS) - 2
        rows = landed(url)
        assert {e for e, _ in rows} == set(EMAILS) - {
            "slow.ok.t@acme.com",
            "slow.unknown.u@acme.com",
        }
        assert all(n == 1 for _, n in rows), "every answer lands exactly once"

        server.configure(slow_s=0.0, fault_endpoints=ENDPOINTS)
        second = run()
        assert (second.status, second.requested, second.answered) == ("completed", 2, 2)
        assert landed(url) == [(e, 1) for e in sorted(EMAILS)]

        server.reset_counters()
        third = run()
        assert (third.status, third.requested) == ("completed", 0)
        assert server.requests_for("verify") == []
    with psycopg.connect(url) as conn:
        runs = conn.execute(
            "select status, emails_answered from raw_verifier.verification_runs"
            " where emails_requested > 0 order by started_at"
        ).fetchall()
        assert runs == [("partial", len(EMAILS) - 2), ("completed", 2)]
        key_hits = conn.execute(
            "select count(*) from raw_verifier.email_checks where response::text like %s"
            " or source_url like %s",
            (f"%{KEY}%", f"%{KEY}%"),
        ).fetchone()[0]
        assert key_hits == 0


def test_relanding_a_batch_changes_nothing(warehouse, tmp_path):
    body = fixture("verify_ok.json")
    row = h.answer_row(body["email"], body, method="single", source_url="https://x/api/v3/")
    pipeline = verifier_pipeline(warehouse, tmp_path / "dlt")
    for _ in range(2):
        pipeline.run(millionverifier_source([answers_table([row], "run-idem")]))
    with psycopg.connect(warehouse) as conn:
        got = conn.execute(
            "select count(*) from raw_verifier.email_checks where check_id = %s",
            (check_id("run-idem", body["email"]),),
        ).fetchone()[0]
    assert got == 1
