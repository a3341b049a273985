"""The 30-day work queues, email statuses, slots, renewal readiness and signals, end to end
on a real PostgreSQL with real dbt builds and the real loaders over HTTP on 127.0.0.1.

One warehouse and a handful of builds for the whole module (each dbt run costs seconds):
  1. intake (two companies, ten people), `dbt build` of everything these marts need;
  2. the loads that check things - MillionVerifier runs from the email queue (429s, a 5xx,
     a timeout, an HTTP 200 error body, credits out), an Apify dataset import, recorded
     URL checks - each item leaving its queue as soon as its check lands (the queues are
     views over the raw history: no rebuild, no UPDATE);
  3. `dbt build` of everything downstream of those raw tables: email_status per result and
     error path, last_*_checked_at, slots, renewal readiness;
  4. signals: once per company and renewal cycle, stable ids across rebuilds and
     `--full-refresh`, a new one next cycle; no outbox carries renewal signals, so
     processed_at stays null (tests/test_signal_delivery.py: a delivered signal's is set).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import psycopg
import pytest

from app.dbt import run_dbt
from loaders.millionverifier.run import due_emails, verify_emails
from outreach.url_checks import record_url_checks
from testing.millionverifier import MillionVerifierTestServer

pytestmark = pytest.mark.slow

KEY = "mv-e2e-secret-5a6b7c"
TODAY = datetime.now(UTC).date()
# a LinkedIn page check 31 days before the builds' as_of (TODAY), at noon: due again
# whatever the wall clock reads when the module runs (it may run past midnight)
LINKEDIN_CHECKED_AT = datetime.combine(TODAY - timedelta(days=31), time(12), tzinfo=UTC)
# Acme renews on the 1st of next month (its 120-day window is open today); Beta in about
# six months (closed).
ACME_MONTH = TODAY.month % 12 + 1
BETA_MONTH = (TODAY.month + 5) % 12 + 1
ACME_RENEWAL = date(TODAY.year + (TODAY.month > ACME_MONTH), ACME_MONTH, 1)

COMPANIES = f"""company_name,website_url,linkedin_url,news_url,renewal_month,renewal_notice_window_days
Acme E2E Inc,https://www.acme-e2e.com,https://www.linkedin.com/company/acme-e2e,https://acme-e2e.com/news,{ACME_MONTH},
Beta E2E LLC,beta-e2e.io,,,{BETA_MONTH},
"""
PEOPLE = """full_name,title,email,linkedin_url,company_name
Ann Ok,CEO,ok.ann@acme-e2e.com,https://www.linkedin.com/in/ann-ok-e2e,Acme E2E Inc
Bob Catch,Chief Financial Officer,catch_all.bob@acme-e2e.com,https://www.linkedin.com/in/bob-catch-e2e,Acme E2E Inc
Cy Unknown,VP People,unknown.cy@acme-e2e.com,https://www.linkedin.com/in/cy-unknown-e2e,Acme E2E Inc
Di Invalid,Sales Director,invalid.di@acme-e2e.com,,Acme E2E Inc
Ed Disposable,Engineer,disposable.ed@acme-e2e.com,,Acme E2E Inc
Fay Error,Analyst,error.fay@acme-e2e.com,,Acme E2E Inc
Gus Timeout,Engineer,timeout.gus@acme-e2e.com,,Acme E2E Inc
Hal Retry,CEO,ok.hal@beta-e2e.io,,Beta E2E LLC
Ivy Later,Director of HR,ok.ivy@beta-e2e.io,,Beta E2E LLC
Jon Nomail,CFO,,,Beta E2E LLC
"""
ALL_EMAILS = {
    "ok.ann@acme-e2e.com",
    "catch_all.bob@acme-e2e.com",
    "unknown.cy@acme-e2e.com",
    "invalid.di@acme-e2e.com",
    "disposable.ed@acme-e2e.com",
    "error.fay@acme-e2e.com",
    "timeout.gus@acme-e2e.com",
    "ok.hal@beta-e2e.io",
    "ok.ivy@beta-e2e.io",
}
# the marts under test and everything they need (and nothing else: other parts of the
# project may need raw data this module does not load)
MARTS = (
    "+due_email_recheck_30d +next_profile_urls_30d +next_company_urls_30d +vw_company_slots"
    " +vw_due_renewals_ready +vw_next_renewal +signal"
)
# before the checks: models, seeds and the unit tests (the data tests run after the loads)
BUILD_ALL = ["build", "--select", MARTS, "--exclude-resource-type", "test"]
# after the checks: a full refresh (tables rebuilt from scratch, the append-only logs
# kept) with every data test whose parents are all built here
BUILD_CHECKED = [
    "build",
    "--select",
    MARTS,
    "--indirect-selection",
    "cautious",
    "--full-refresh",
    "--exclude-resource-type",
    "unit_test",  # they ran in BUILD_ALL
]


def q(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or None).fetchall()


def dbt(url: str, args: list[str]) -> str:
    # the test's clock: the builds see TODAY even when the module runs across midnight
    args = [*args, "--vars", json.dumps({"as_of": TODAY.isoformat()})]
    proc = run_dbt(args, url=url, check=False, capture=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    return proc.stdout


def email_queue(url: str) -> set[str]:
    return {r[0] for r in q(url, "select email from people.due_email_recheck_30d")}


@pytest.fixture(scope="module")
def world(warehouse, tmp_path_factory, monkeypatch_module):
    """Intake loaded and everything built: the state before any check."""
    from loaders.intake.run import load_intake_files

    tmp = tmp_path_factory.mktemp("e2e")
    (tmp / "companies.csv").write_text(COMPANIES)
    (tmp / "people.csv").write_text(PEOPLE)
    load_intake_files(tmp / "companies.csv", tmp / "people.csv", progress=lambda _m: None)
    dbt(warehouse, BUILD_ALL)
    # the signal the first build emitted (its id must survive the rebuilds)
    ((signal_id,),) = q(warehouse, "select signal_id from bit.signal")
    before = {
        "emails": email_queue(warehouse),
        "profiles": {r[0] for r in q(warehouse, "select url from people.next_profile_urls_30d")},
        "company_urls": q(
            warehouse,
            "select c.company_name, n.url_type, n.url, n.last_checked_at"
            " from company.next_company_urls_30d n join company.company c using (company_id)"
            " order by 1, 2",
        ),
        "statuses": q(
            warehouse, "select email_status, count(*) from people.contact_verification group by 1"
        ),
        "slots": q(warehouse, "select count(*) from company.company_slot"),
    }
    now = datetime.now(UTC)  # the checks' clock (the loads stamp theirs from it)
    return {"url": warehouse, "tmp": tmp, "signal_id": signal_id, "before": before, "now": now}


@pytest.fixture(scope="module")
def mv_server():
    with MillionVerifierTestServer(api_key=KEY, timeout_s=2.5) as srv:
        yield srv


def verify(world, server, **kw):
    return verify_emails(
        database_url=world["url"],
        base_url=server.base_url,
        api_key=KEY,
        http_timeout_s=0.5,
        retry={"request_max_attempts": 4, "request_backoff_factor": 0},
        progress=lambda _m: None,
        pipelines_dir=world["tmp"] / "dlt",
        **kw,
    )


# ------------------------------------------------------------------ 1. before any check
def test_before_any_check_every_item_is_due(world):
    before = world["before"]  # taken before any check (the loads below change the queues)
    assert before["emails"] == ALL_EMAILS
    assert before["profiles"] == {
        "https://www.linkedin.com/in/ann-ok-e2e",
        "https://www.linkedin.com/in/bob-catch-e2e",
        "https://www.linkedin.com/in/cy-unknown-e2e",
    }
    assert before["company_urls"] == [
        ("Acme E2E Inc", "linkedin", "https://www.linkedin.com/company/acme-e2e", None),
        ("Acme E2E Inc", "news", "https://acme-e2e.com/news", None),
        ("Acme E2E Inc", "website", "https://www.acme-e2e.com", None),
        ("Beta E2E LLC", "website", "beta-e2e.io", None),
    ]
    assert before["statuses"] == [("gray", 9)], "every contact with an email is there, gray"
    assert before["slots"] == [(6,)]


# ------------------------------------------------------------------ 2. the loads
# Each load is a module fixture (it runs once, before the first test that needs it or the
# rebuild) that records what the queues showed after each step; the tests check those, so
# they pass in any order.
@pytest.fixture(scope="module")
def email_loads(world, mv_server):
    """The queue drives the load; 429s and a 5xx are retried; a timeout stays due; an
    HTTP 200 error body is an answer (checked, leaves the queue)."""
    url = world["url"]
    steps = {"due_before": set(due_emails(url))}
    mv_server.configure(rate_limit_count=2, error_count=1, fault_endpoints=["verify"])
    # Ivy is verified later, by the queue run after the credits ran out
    first = verify(world, mv_server, emails=sorted(ALL_EMAILS - {"ok.ivy@beta-e2e.io"}))
    steps["first"] = (first, email_queue(url))
    # credits out: nothing is sent, both stay due
    mv_server.configure(credits=0)
    stopped = verify(world, mv_server)
    steps["credits_out"] = (stopped, email_queue(url))
    # credits back: the queue run verifies Ivy; Gus still times out and stays
    mv_server.configure(credits=None)
    again = verify(world, mv_server)
    steps["credits_back"] = (again, email_queue(url))
    return steps


def test_the_email_load_takes_what_it_answered_off_the_queue(email_loads):
    assert email_loads["due_before"] == ALL_EMAILS
    first, queue = email_loads["first"]
    assert first.http["http_429"] == 2 and first.http["http_5xx"] == 1
    assert first.answered == 7 and first.unanswered == {"timeout": 1}
    # no rebuild: the queue is a view over the check history
    assert queue == {"timeout.gus@acme-e2e.com", "ok.ivy@beta-e2e.io"}

    stopped, queue = email_loads["credits_out"]
    assert stopped.status == "credits_exhausted" and stopped.answered == 0
    assert "credits ran out" in stopped.message
    assert queue == {"timeout.gus@acme-e2e.com", "ok.ivy@beta-e2e.io"}

    again, queue = email_loads["credits_back"]
    assert again.requested == 2 and again.answered == 1
    assert queue == {"timeout.gus@acme-e2e.com"}


@pytest.fixture(scope="module")
def profile_refresh(world):
    from loaders.apify_linkedin.run import import_dataset

    url = world["url"]
    now = world["now"]
    fresh = world["tmp"] / "fresh.json"
    fresh.write_text(
        json.dumps(
            [
                {
                    "linkedinUrl": "https://uk.linkedin.com/in/Ann-Ok-E2E/",
                    "fullName": "Ann Ok",
                    "jobTitle": "CEO",
                    "companyName": "Acme E2E Inc",
                },
                {
                    "linkedinUrl": "https://www.linkedin.com/in/bob-catch-e2e",
                    "fullName": "Bob Catch",
                    "jobTitle": "Chief Financial Officer",
                    "companyName": "Acme E2E Inc",
                },
            ]
        )  # fmt: skip
    )
    stale = world["tmp"] / "stale.json"
    stale.write_text(
        json.dumps(
            [
                {
                    "linkedinUrl": "https://www.linkedin.com/in/cy-unknown-e2e",
                    "fullName": "Cy Unknown",
                    "jobTitle": "VP People",
                    "companyName": "Acme E2E Inc",
                }
            ]
        )  # fmt: skip
    )
    kw = dict(database_url=url, progress=lambda _m: None, pipelines_dir=world["tmp"] / "dlt_apify")
    import_dataset(fresh, observed_at=now.isoformat(), **kw)
    import_dataset(stale, observed_at=(now - timedelta(days=40)).isoformat(), **kw)
    return {
        r[0]: r[1] for r in q(url, "select url, last_checked_at from people.next_profile_urls_30d")
    }


def test_the_profile_refresh_takes_observed_profiles_off_the_queue(world, profile_refresh):
    due = profile_refresh
    assert set(due) == {"https://www.linkedin.com/in/cy-unknown-e2e"}, "observed 40 days ago"
    assert due["https://www.linkedin.com/in/cy-unknown-e2e"] < world["now"] - timedelta(days=39)


@pytest.fixture(scope="module")
def url_checks(world):
    url = world["url"]
    recorded = record_url_checks(
        url,
        [
            # another form of the website (scheme, case, path): still Acme's website
            {"url_type": "website", "url": "HTTP://Acme-E2E.com/about", "checker": "e2e"},
            {
                "url_type": "linkedin",
                "url": "https://www.linkedin.com/company/acme-e2e/",
                "checker": "e2e",
                "checked_at": LINKEDIN_CHECKED_AT,
            },
            {"url_type": "news", "url": "https://beta-e2e.io", "checker": "e2e"},
        ],
    )  # fmt: skip
    due = q(
        url,
        "select c.company_name, n.url_type from company.next_company_urls_30d n"
        " join company.company c using (company_id) order by 1, 2",
    )
    return recorded, due


def test_recorded_url_checks_take_company_urls_off_the_queue(url_checks):
    recorded, due = url_checks
    assert recorded == 3
    assert due == [
        ("Acme E2E Inc", "linkedin"),  # checked 31 days ago: due again
        ("Acme E2E Inc", "news"),
        ("Beta E2E LLC", "website"),  # a news check of its domain does not count
    ]


# ------------------------------------------------------------------ 3. after a build
@pytest.fixture(scope="module")
def rebuilt(world, email_loads, profile_refresh, url_checks):
    # after every load above: build what they change
    dbt(world["url"], BUILD_CHECKED)
    world["rebuilt"] = True
    return world["url"]


def test_email_status_per_result_and_error_path(rebuilt):
    got = {
        email: (status, checked is not None, confidence)
        for email, status, checked, confidence in q(
            rebuilt,
            "select c.email, v.email_status, v.email_checked_at, v.email_confidence"
            " from people.contact_verification v join people.contact c using (contact_id)",
        )
    }
    assert got == {
        "ok.ann@acme-e2e.com": ("green", True, 95),
        "catch_all.bob@acme-e2e.com": ("yellow", True, 40),
        "unknown.cy@acme-e2e.com": ("yellow", True, 20),
        "invalid.di@acme-e2e.com": ("red", True, 0),
        "disposable.ed@acme-e2e.com": ("red", True, 5),
        "error.fay@acme-e2e.com": ("gray", True, 0),  # HTTP 200 error body: checked, gray
        "timeout.gus@acme-e2e.com": ("gray", False, None),  # timeouts, credits out: never checked
        "ok.hal@beta-e2e.io": ("green", True, 95),  # answered after 429 / 5xx retries
        "ok.ivy@beta-e2e.io": ("green", True, 95),  # verified once credits were back
    }
    # Jon has no email: no verification row, and never missing for those who have one
    assert q(rebuilt, "select count(*) from people.contact where email is null") == [(1,)]
    sources = q(rebuilt, "select distinct email_source_url from people.contact_verification")
    assert all(s[0] is None or s[0].endswith("/api/v3/") for s in sources)


def test_last_checked_columns_come_from_the_check_history(world, rebuilt):
    contacts = dict(q(rebuilt, "select full_name, last_profile_checked_at from people.contact"))
    now = world["now"]  # the checks' clock
    assert contacts["Ann Ok"] == now
    assert timedelta(days=39) < now - contacts["Cy Unknown"] < timedelta(days=41)
    assert contacts["Di Invalid"] is None
    acme = q(
        rebuilt,
        "select last_site_checked_at, last_linkedin_checked_at, last_news_checked_at"
        " from company.company where company_name = 'Acme E2E Inc'",
    )[0]
    assert abs(acme[0] - now) < timedelta(minutes=10)  # stamped by record_url_checks
    assert acme[1] == LINKEDIN_CHECKED_AT
    assert acme[2] is None


def test_slots_and_renewal_readiness_follow_verification(rebuilt):
    slots = q(
        rebuilt,
        "select company_name, role_code, full_name, email_status from company.vw_company_slots"
        " order by 1, 2",
    )
    assert slots == [
        ("Acme E2E Inc", "CEO", "Ann Ok", "green"),
        ("Acme E2E Inc", "CFO", "Bob Catch", "yellow"),
        ("Acme E2E Inc", "HR", "Cy Unknown", "yellow"),
        ("Beta E2E LLC", "CEO", "Hal Retry", "green"),
        ("Beta E2E LLC", "CFO", "Jon Nomail", None),
        ("Beta E2E LLC", "HR", "Ivy Later", "green"),
    ]
    acme_renewal = ACME_RENEWAL
    ready = q(
        rebuilt,
        "select company_name, next_renewal_date, has_green_contact from company.vw_due_renewals_ready",
    )
    assert ready == [("Acme E2E Inc", acme_renewal, True)]
    nxt = dict(
        q(rebuilt, "select company_name, campaign_window_start from company.vw_next_renewal")
    )
    assert nxt["Acme E2E Inc"] == acme_renewal - timedelta(days=120)


def test_the_queues_never_list_what_was_checked_within_30_days(rebuilt):
    # the dbt data tests said so in the build; the published views agree
    assert email_queue(rebuilt) == {"timeout.gus@acme-e2e.com"}
    assert q(rebuilt, "select count(*) from people.next_profile_urls_30d") == [(1,)]


# ------------------------------------------------------------------ 4. signals
def signals(url: str) -> list[tuple]:
    return q(
        url,
        "select s.signal_id, c.company_name, s.reason, s.payload, s.processed_at"
        " from bit.signal s join company.company c using (company_id) order by s.signal_id",
    )


def test_a_renewal_signal_fires_once_and_keeps_its_id_and_payload(world, rebuilt):
    """The first build emitted Acme's signal; the second - after the checks, a
    `--full-refresh` - rebuilt the signal log on the same day: nothing new, same id, same
    payload; no outbox carries renewal signals, so processed_at stays null. (A new cycle's
    signal and its new id: the unit test int_signal_keys_appends_new_events_once.)"""
    (row,) = signals(rebuilt)
    signal_id, company, reason, payload, processed_at = row
    assert (company, reason) == ("Acme E2E Inc", "renewal_window_open_120d")
    assert (signal_id, processed_at) == (world["signal_id"], None)
    assert payload["next_renewal_date"] == ACME_RENEWAL.isoformat()
    assert payload["campaign_window_start"] == (ACME_RENEWAL - timedelta(days=120)).isoformat()
    assert payload["renewal_notice_window_days"] == 120
    assert payload["detected_on"] == TODAY.isoformat()
    # emitted by the first build, before any email was verified: the payload is as of then
    assert payload["has_green_contact"] is False and payload["green_contacts"] == []
