"""Company page checks (issue 22) end to end: the company queue drained by
``check_company_pages`` over real HTTP against the local sites server on 127.0.0.1
(testing/company_sites.py, reached through HostsTransport: no DNS, no network), checks in
raw_ops.url_checks, last_*_checked_at, company.website_health and the company signals
in bit.signal after real dbt builds.

Two check cycles with an injected clock (40 days ago, then today): Down Co hangs, then
answers 500 (website_down once); Moved Co redirects to another registrable domain
(domain_changed once); in the second cycle Loop Co loops, Huge Co streams 5 MB, Pdf Co
serves a PDF and NoDNS Co's host no longer resolves - each a recorded outcome, none
stalling the run. LinkedIn company pages come from the Apify company-actor stand-in
(testing/apify_companies.py) through refresh_company_pages in each cycle: Up Co grows and
is renamed (headcount_change, company_profile_changed once each).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from app.dbt import run_dbt
from loaders.apify_linkedin import jobs as J
from loaders.company_pages import settings as cps
from loaders.company_pages.checker import HostsTransport, Target, check_pages, registrable_domain
from loaders.company_pages.linkedin import COMPANY_JOBS, refresh_company_pages
from loaders.company_pages.run import CompanyPagesError, check_company_pages, due_targets
from testing.apify import Faults
from testing.apify_companies import CompanyActorTestServer
from testing.company_sites import CompanySitesServer, Site

TOKEN = "apify-company-test-token"
UPCO_LINKEDIN = "https://www.linkedin.com/company/upco"
NOW = datetime.now(UTC).replace(microsecond=0)
CYCLE1 = NOW - timedelta(days=40)
CYCLE2 = NOW - timedelta(hours=1)

COMPANIES = """company_name,website_url,linkedin_url,news_url,renewal_month,renewal_notice_window_days
Up Co,https://www.upco.com,https://www.linkedin.com/company/upco,https://upco.com/news,,
Down Co,https://downco.com,,,,
Moved Co,https://movedco.com,https://www.linkedin.com/company/movedco,,,
Loop Co,https://loopco.com,,,,
Huge Co,https://hugeco.com,,,,
Pdf Co,https://pdfco.com,,,,
NoDNS Co,https://nodns-co.com,,,,
"""
SITES = {
    "www.upco.com": Site(kind="ok", title="Up Co - Home"),
    "upco.com": Site(kind="ok", title="Up Co News"),
    "downco.com": Site(kind="hang"),
    "movedco.com": Site(kind="redirect", target="https://www.newbrand.co.uk/"),
    "www.newbrand.co.uk": Site(kind="ok", title="NewBrand"),
    "loopco.com": Site(kind="ok"),
    "hugeco.com": Site(kind="ok"),
    "pdfco.com": Site(kind="ok"),
    "nodns-co.com": Site(kind="ok"),
}
OPTIONS = {
    "request_deadline_s": 0.5,
    "read_timeout_s": 0.5,
    "connect_timeout_s": 0.5,
    "max_bytes": 300_000,
    "concurrency": 8,
}
# before the checks: what the queue needs; after: the signals and what shows the checks
QUEUE_MODELS = "+next_company_urls_30d +company"
CHECKED_MODELS = "+signal website_health company"
MODELS_ONLY = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]


def q(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or None).fetchall()


def dbt(url: str, args: list[str]) -> None:
    proc = run_dbt(args, url=url, check=False, capture=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


@pytest.fixture(scope="module")
def sites():
    with CompanySitesServer({h: Site(**vars(s)) for h, s in SITES.items()}) as server:
        yield server


@pytest.fixture(scope="module")
def actor():
    pages = {UPCO_LINKEDIN: {"name": "Up Co", "industry": "Software", "employeeCount": 200}}
    server = CompanyActorTestServer(pages, token=TOKEN)
    server.start()
    yield server
    server.stop()


def linkedin_run(url, actor, clock, **kw):
    return refresh_company_pages(
        database_url=url,
        clock=lambda: clock,
        endpoint=(actor.base_url, TOKEN),
        progress=lambda _m: None,
        max_retries=1,
        min_retry_delay_s=0.01,
        http_timeout_s=5,
        **kw,
    )


@pytest.fixture(scope="module")
def world(warehouse, tmp_path_factory, sites, actor):
    """Intake, one build, two check cycles, planted LinkedIn checks, the signals built."""
    from loaders.intake.run import load_intake_files

    tmp = tmp_path_factory.mktemp("company_pages")
    (tmp / "companies.csv").write_text(COMPANIES)
    load_intake_files(tmp / "companies.csv", None, progress=lambda _m: None, database_url=warehouse)
    dbt(warehouse, ["build", "--select", QUEUE_MODELS, *MODELS_ONLY])
    due_before = q(warehouse, "select count(*) from company.next_company_urls_30d")[0][0]

    first = check_company_pages(
        database_url=warehouse,
        clock=lambda: CYCLE1,
        transport=sites.transport(),
        progress=lambda _m: None,
        **OPTIONS,
    )
    # cycle 2: Down Co now answers 500; Loop/Huge/Pdf break; NoDNS's host no longer resolves
    sites.set_site("downco.com", kind="server_error")
    sites.set_site("loopco.com", kind="loop")
    sites.set_site("hugeco.com", kind="huge")
    sites.set_site("pdfco.com", kind="pdf")
    transport = sites.transport()
    del transport.hosts["nodns-co.com"]
    started = time.monotonic()
    second = check_company_pages(
        database_url=warehouse,
        all_urls=True,
        clock=lambda: CYCLE2,
        transport=transport,
        progress=lambda _m: None,
        **OPTIONS,
    )
    second_seconds = time.monotonic() - started
    # LinkedIn company pages through the Apify company-actor stand-in, once per cycle;
    # Up Co grows from 200 to 260 employees and is renamed in between
    linkedin_run(warehouse, actor, CYCLE1)
    actor.pages[UPCO_LINKEDIN] = {
        "name": "Up Co Group",
        "industry": "Software",
        "employeeCount": 260,
    }
    linkedin_run(warehouse, actor, CYCLE2, all_urls=True)
    dbt(warehouse, ["build", "--select", CHECKED_MODELS, *MODELS_ONLY])
    dbt(
        warehouse,
        [
            "test",
            "--select",
            "website_health int_company_page_checks int_company_page_signals",
            "--exclude-resource-type",
            "unit_test",
        ],
    )
    ids = dict(q(warehouse, "select company_name, company_id from company.company"))
    return {
        "url": warehouse,
        "first": first,
        "second": second,
        "ids": ids,
        "second_seconds": second_seconds,
        "due_before": due_before,
    }


def outcomes(world, checked_at) -> dict[str, tuple]:
    rows = q(
        world["url"],
        "select url, outcome, http_status, detail from raw_ops.url_checks"
        " where checked_at = %s and checker = %s",
        checked_at,
        cps.CHECKER,
    )
    return {url: (outcome, status, detail) for url, outcome, status, detail in rows}


def test_every_failure_kind_is_recorded_as_such_and_nothing_stalls(world):
    first, second = outcomes(world, CYCLE1), outcomes(world, CYCLE2)
    assert first["https://downco.com"][0] == "timeout"
    assert first["https://www.upco.com"][0] == "ok"
    assert second["https://downco.com"][:2] == ("http_error", 500)
    assert second["https://loopco.com"][0] == "redirect_loop"
    assert second["https://hugeco.com"][0] == "too_large"
    assert second["https://pdfco.com"][0] == "not_html"
    assert second["https://nodns-co.com"][0] == "dns_error"
    ok = second["https://www.upco.com"][2]
    assert ok["title"] == "Up Co - Home" and ok["content_type"].startswith("text/html")
    assert ok["last_modified"] and len(ok["content_hash"]) == 64
    moved = second["https://movedco.com"][2]
    assert moved["final_url"] == "https://www.newbrand.co.uk/"
    assert moved["redirects"][0]["status"] == 301
    assert (moved["requested_domain"], moved["final_domain"]) == ("movedco.com", "newbrand.co.uk")
    # one 0.5 s deadline per stuck request at most, checks in parallel: well under 8 s
    assert world["second_seconds"] < 8


def test_the_checks_drain_the_queue_and_set_last_checked(world):
    assert world["due_before"] == 10  # 7 websites, 1 news page, 2 LinkedIn pages
    left = q(world["url"], "select url_type from company.next_company_urls_30d")
    assert left == []
    ((site, news),) = q(
        world["url"],
        "select last_site_checked_at, last_news_checked_at"
        " from company.company where company_name = 'Up Co'",
    )
    assert site == CYCLE2 and news == CYCLE2


def test_each_company_signal_fires_exactly_once(world):
    url, ids = world["url"], world["ids"]
    dbt(url, ["run", "--select", "int_signal_keys", "signal"])  # a rebuild emits nothing new
    rows = q(
        url, "select company_id, reason from bit.signal where reason <> 'renewal_window_open_120d'"
    )
    assert sorted(rows) == sorted(
        [
            (ids["Down Co"], "website_down"),
            (ids["Moved Co"], "domain_changed"),
            (ids["Up Co"], "headcount_change"),
            (ids["Up Co"], "company_profile_changed"),
        ]
    )


def test_website_health_shows_the_current_state(world):
    rows = dict(q(world["url"], "select company_name, website_state from company.website_health"))
    assert rows["Down Co"] == "down" and rows["Up Co"] == "up"
    assert rows["Loop Co"] == "failing" and rows["Pdf Co"] == "up"


def test_a_rerun_with_the_same_clock_records_nothing_new(world, sites):
    again = check_company_pages(
        database_url=world["url"],
        all_urls=True,
        clock=lambda: CYCLE2,
        transport=sites.transport(),
        progress=lambda _m: None,
        **OPTIONS,
        targets=[Target("https://www.upco.com", "website", world["ids"]["Up Co"])],
    )
    assert again.urls_due == 1 and again.checks_recorded == 0


def test_robots_txt_is_honoured_and_tls_failures_are_recorded(sites):
    sites.set_site("private.com", kind="robots_block")
    transport = HostsTransport(
        {"private.com": ("127.0.0.1", sites.port), "tls.com": ("127.0.0.1", sites.port)},
        tls_hosts=["tls.com"],
    )
    private, tls = check_pages(
        [Target("https://private.com/"), Target("https://tls.com/")], transport=transport, **OPTIONS
    )
    assert private.outcome == cps.ROBOTS_DISALLOWED
    assert tls.outcome == "tls_error"


def test_registrable_domains_follow_the_public_suffix_list():
    assert registrable_domain("https://shop.acme.co.uk/x") == "acme.co.uk"
    assert registrable_domain("https://user.github.io") == "github.io"
    assert registrable_domain("http://127.0.0.1:8080/") == "127.0.0.1"


def test_failing_outcomes_agree_with_the_staging_model():
    from outreach.settings import DBT_PROJECT_DIR

    sql = (DBT_PROJECT_DIR / "models/staging/ops/stg_ops__url_checks.sql").read_text()
    for outcome in cps.FAILING_OUTCOMES:
        assert f"'{outcome}'" in sql


def test_no_queue_yet_is_a_clear_error(empty_warehouse):
    with pytest.raises(CompanyPagesError, match="next_company_urls_30d does not exist"):
        due_targets(empty_warehouse)


def test_the_dagster_asset_runs_the_same_entry_point_and_checks_freshness(world):
    import dagster as dg

    from orchestration.assets.company_pages import company_pages_assets, freshness_check_result
    from orchestration.resources import WarehouseResource

    result = dg.materialize(
        [company_pages_assets],
        resources={"warehouse": WarehouseResource(database_url=world["url"])},
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("company_pages_check")
    assert materialization.metadata["urls_due"].value == 0  # the queue is drained
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "company_pages_fresh" and check.passed
    stale = freshness_check_result(world["url"], now=CYCLE2 + timedelta(days=9))
    assert not stale.passed


def test_linkedin_company_jobs_have_their_own_barton_segment(world):
    rows = q(
        world["url"],
        f"select job_unique_id, status, profiles_completed from {COMPANY_JOBS.table}"
        " where metadata->>'trigger' = 'manual' order by id limit 2",
    )
    assert [r[1:] for r in rows] == [("completed", 2), ("completed", 2)]
    assert all(r[0].startswith("04.04.07.") for r in rows)


def test_a_429_keeps_the_pages_that_arrived_and_the_breaker_opens_after_three_failures(
    world, actor
):
    url = world["url"]
    actor.faults = Faults(
        max_page_size=1,
        rate_limit_on="items",
        rate_limit_count=-1,
        rate_limit_skip=1,
        retry_after_s=0,
    )
    partial = linkedin_run(url, actor, CYCLE2, all_urls=True)
    assert partial.status == "completed" and partial.rate_limited
    assert partial.pages_checked == 1 and len(partial.pages_skipped) == 1
    actor.faults = Faults(error_on="start", error_status=401, error_count=-1)
    for _ in range(3):
        assert linkedin_run(url, actor, CYCLE2, all_urls=True).status == "failed"
    skipped = linkedin_run(url, actor, CYCLE2, all_urls=True, trigger="scheduled")
    assert skipped.skipped_reason and "circuit breaker open" in skipped.skipped_reason
    actor.faults = Faults()
    assert linkedin_run(url, actor, CYCLE2, all_urls=True).status == "completed"  # closes it
    assert not J.circuit_breaker_state(url, COMPANY_JOBS)[0]
