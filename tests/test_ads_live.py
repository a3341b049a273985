"""The live LinkedIn Ads loader over real HTTP on 127.0.0.1, a real PostgreSQL and real dbt
builds: LinkedIn's documented payloads (tests/fixtures/linkedin_ads/, see its README) served
by the test server, and a load through faults the docs allow (a burst of 5xx, a 429 with
Retry-After, an answer slower than the client's timeout, a proxy's non-JSON error page).

One warehouse and one sequence the tests share (built once, in the module fixture):
  1. the documented adAnalytics response for account FIXTURE_ACCOUNT, then the documented
     error bodies (401, 403: the load fails and writes nothing; 429, 500: retried);
  2. 30 days of account LIVE_ACCOUNT through the faults (``load_linkedin_ads``, endpoint
     from LINKEDIN_BASE_URL as in production) -> dbt build -> snapshot;
  3. a 200 answer that is not JSON: the load fails clearly and writes nothing;
  4. LinkedIn restates one day and drops another; the CLI entry loads again -> dbt build.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import psycopg
import pytest

from app import cli
from app.dbt import run_dbt
from loaders.linkedin_ads import settings as s
from loaders.linkedin_ads.helpers import (
    HttpSettings,
    LinkedInAuthError,
    LinkedInDataError,
)
from loaders.linkedin_ads.run import load_linkedin_ads
from testing.linkedin_ads import LinkedInAdsTestServer

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures" / "linkedin_ads"
TODAY = date(2025, 3, 12)  # the servers' clock; nothing here reads the real date
FIXTURE_ACCOUNT = "520000777"
LIVE_ACCOUNT = "510000001"
TOKEN = "live-test-token"
# zero backoff (Retry-After "0"), a 0.3 s read timeout against 1 s slow answers
FAST = HttpSettings(max_attempts=8, backoff_factor=0.0, max_delay_s=0.01, timeout_s=(2, 0.3))


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def query(url: str, sql: str, *args) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def raw(url: str, account: str) -> dict[tuple[str, date], tuple]:
    rows = query(
        url,
        "select campaign_id, date, impressions, clicks, cost_in_local_currency, "
        "external_website_conversions from raw_linkedin_ads.campaign_analytics "
        "where account_id = %s",
        account,
    )
    return {(r[0], r[1]): r[2:] for r in rows}


def mart(url: str, account: str) -> dict[tuple[str, date], tuple]:
    rows = query(
        url,
        "select campaign_id, date_day, impressions, clicks, spend, conversions "
        "from marketing.linkedin_ads_campaign_daily where account_id = %s",
        account,
    )
    return {(r[0], r[1]): r[2:] for r in rows}


def staging(url: str, account: str) -> dict[tuple[str, date], tuple]:
    rows = query(
        url,
        "select campaign_id, date_day, impressions, clicks, spend, conversions "
        "from staging.stg_linkedin_ads__campaign_analytics where account_id = %s",
        account,
    )
    return {(r[0], r[1]): r[2:] for r in rows}


def expected(elements: list[dict]) -> dict[tuple[str, date], tuple]:
    """What each documented element means: (impressions, clicks, exact cost, conversions);
    LinkedIn leaves out metrics that are zero."""
    return {
        (e["pivotValues"][0].rsplit(":", 1)[1], date(**e["dateRange"]["start"])): (
            e.get("impressions", 0),
            e.get("clicks", 0),
            Decimal(e["costInLocalCurrency"]),
            e.get("externalWebsiteConversions", 0),
        )
        for e in elements
    }


def dbt_build(url: str) -> None:
    proc = run_dbt(["build", "--select", s.DBT_SELECT], url=url, check=False, capture=True)
    assert proc.returncode == 0, proc.stdout[-5000:]


def pulls(url: str) -> int:
    return query(url, "select count(*) from raw_linkedin_ads.pulls")[0][0]


@pytest.fixture(scope="module")
def live(warehouse, monkeypatch_module):
    out: dict = {}
    documented = orjson.loads(fixture("adanalytics_campaign_daily.json"))["elements"]
    out["documented"] = expected(documented)
    days = sorted({d for _c, d in out["documented"]})

    # 1. the documented payloads, served as LinkedIn documents them
    with LinkedInAdsTestServer(accounts=[FIXTURE_ACCOUNT], today=days[-1], token=TOKEN) as srv:

        def load_fixture_account():
            return load_linkedin_ads(
                database_url=warehouse,
                accounts=[FIXTURE_ACCOUNT],
                start_date=days[0],
                end_date=days[-1],
                endpoint=(srv.base_url, TOKEN),
                http=FAST,
                progress=lambda _m: None,
            )

        srv.serve(s.ANALYTICS_PATH, fixture("adanalytics_campaign_daily.json"))
        out["fixture_load"] = load_fixture_account()
        out["fixture_raw"] = raw(warehouse, FIXTURE_ACCOUNT)
        out["errors"] = {}
        for name, status in (
            ("error_401_empty_token.json", 401),
            ("error_401_expired_token.json", 401),
            ("error_403_not_enough_permissions.json", 403),
        ):
            before = pulls(warehouse)
            srv.serve(s.ANALYTICS_PATH, fixture(name), status=status)
            with pytest.raises(LinkedInAuthError) as caught:
                load_fixture_account()
            out["errors"][name] = (caught.value, pulls(warehouse) - before)
        # retried by dlt's client, then the documented response again: nothing changes
        srv.serve(s.ANALYTICS_PATH, fixture("error_429_throttled.json"), status=429,
                  headers={"Retry-After": "0"})  # fmt: skip
        srv.serve(s.ANALYTICS_PATH, fixture("error_500_internal.json"), status=500)
        srv.serve(s.ANALYTICS_PATH, fixture("adanalytics_campaign_daily.json"))
        out["fixture_retried"] = load_fixture_account()
        out["fixture_retried_statuses"] = [
            r.status for r in srv.requests if r.path == s.ANALYTICS_PATH
        ][-3:]
        # the documented empty answer (no activity, or no read access): nothing vanishes
        srv.serve(s.ANALYTICS_PATH, fixture("adanalytics_empty.json"))
        out["fixture_empty"] = load_fixture_account()

    # 2. the live account through faults, endpoint from the environment as in production
    with LinkedInAdsTestServer(accounts=[LIVE_ACCOUNT], today=TODAY, token=TOKEN) as srv:
        for name, value in {
            "LINKEDIN_BASE_URL": srv.base_url,
            "LINKEDIN_ACCESS_TOKEN": TOKEN,
            "LINKEDIN_AD_ACCOUNTS": LIVE_ACCOUNT,
            "OUTREACH_TEST_MODE": "false",
        }.items():
            monkeypatch_module.setenv(name, value)
        out["server"] = srv
        srv.configure(
            rate_limit_count=1,
            retry_after="0",
            server_error_count=3,
            html_count=1,  # a proxy's 502 page: HTML, not JSON
            slow_count=1,
            slow_seconds=1.0,
        )
        out["first"] = load_linkedin_ads(
            database_url=warehouse, end_date=TODAY, http=FAST, progress=lambda _m: None
        )
        out["first_statuses"] = [r.status for r in srv.requests]
        start = TODAY - timedelta(days=s.DEFAULT_INITIAL_DAYS - 1)
        out["truth_first"] = expected(srv.elements(LIVE_ACCOUNT, start, TODAY))
        dbt_build(warehouse)
        out["raw_first"] = raw(warehouse, LIVE_ACCOUNT)
        out["staging_first"] = staging(warehouse, LIVE_ACCOUNT)
        out["mart_first"] = mart(warehouse, LIVE_ACCOUNT)
        out["fixture_staging"] = staging(warehouse, FIXTURE_ACCOUNT)
        out["fixture_mart"] = mart(warehouse, FIXTURE_ACCOUNT)

        # 3. a 200 answer that is not JSON at all: a clear error, nothing written
        before = (pulls(warehouse), raw(warehouse, LIVE_ACCOUNT))
        srv.configure(html_count=1, html_status=200)
        with pytest.raises(LinkedInDataError) as caught:
            load_linkedin_ads(
                database_url=warehouse, end_date=TODAY, http=FAST, progress=lambda _m: None
            )
        out["not_json"] = (caught.value, before == (pulls(warehouse), raw(warehouse, LIVE_ACCOUNT)))

        # 4. LinkedIn restates a day and drops another; the CLI entry loads again
        campaign = next(
            c
            for c in srv.campaigns()
            if srv.metrics(c, TODAY - timedelta(days=2)) and not c.scenario
        )
        out["restated"] = (campaign.campaign_id, TODAY - timedelta(days=2))
        out["vanished"] = (campaign.campaign_id, TODAY - timedelta(days=3))
        srv.restate(*out["restated"], clicks=1, cost="1.000000000000000001")
        srv.remove(*out["vanished"])
        out["second_exit"] = cli.main(["load", "linkedin-ads", "--end-date", TODAY.isoformat()])
        out["truth_second"] = expected(srv.elements(LIVE_ACCOUNT, start, TODAY))
        dbt_build(warehouse)
        out["raw_second"] = raw(warehouse, LIVE_ACCOUNT)
        out["mart_second"] = mart(warehouse, LIVE_ACCOUNT)
        out["raw_rows_second"] = query(
            warehouse,
            "select count(*), count(distinct (campaign_id, date)) "
            "from raw_linkedin_ads.campaign_analytics where account_id = %s",
            LIVE_ACCOUNT,
        )[0]
    return out


# ------------------------------------------------------------------ documented payloads
def test_documented_analytics_response_lands_exactly_in_raw_staging_and_the_mart(live):
    assert live["fixture_raw"] == live["documented"]  # exact decimals, zero metrics as 0
    assert live["fixture_load"].total("new") == len(live["documented"]) == 4
    # staging and the mart carry the same numbers (spend exact to the last digit)
    assert live["fixture_staging"] == live["documented"]
    assert live["fixture_mart"] == live["documented"]


def test_documented_error_bodies_fail_the_load_clearly_and_write_nothing(live):
    errors = live["errors"]
    empty, _ = errors["error_401_empty_token.json"]
    assert "Empty oauth2_access_token" in str(empty) and "r_ads_reporting" in str(empty)
    assert "401" in str(empty)
    expired, _ = errors["error_401_expired_token.json"]
    assert "has expired" in str(expired) or "expired" in str(expired)
    denied, _ = errors["error_403_not_enough_permissions.json"]
    assert denied.status == 403 and "Not enough permissions" in str(denied)
    assert all(written == 0 for _e, written in errors.values())  # no pulls row, no data


def test_documented_429_and_500_bodies_are_retried_and_change_nothing(live):
    assert live["fixture_retried_statuses"] == [429, 500, 200]
    summary = live["fixture_retried"]
    assert summary.total("unchanged") == 4 and summary.total("new") == 0
    assert summary.total("restated") == 0
    assert summary.http["rate_limited"] >= 1 and summary.http["server_errors"] >= 1


def test_documented_empty_answer_loads_nothing_and_vanishes_nothing(live):
    summary = live["fixture_empty"]
    assert summary.written == 0 and summary.total("zeroed") == 0
    assert live["fixture_mart"] == live["documented"]


# ------------------------------------------------------------------ faults, then converge
def test_every_element_lands_exactly_once_through_5xx_429_timeout_and_html(live):
    statuses = live["first_statuses"]
    assert statuses.count(429) == 1 and statuses.count(500) == 3 and statuses.count(502) == 1
    http = live["first"].http
    assert http["rate_limited"] == 1 and http["server_errors"] == 4
    truth = live["truth_first"]
    assert len(truth) > 100
    assert live["raw_first"] == truth
    assert live["first"].written == len(truth) and live["first"].total("new") == len(truth)
    assert live["staging_first"] == truth
    assert live["mart_first"] == truth


def test_a_200_answer_that_is_not_json_fails_clearly_and_writes_nothing(live):
    error, unchanged = live["not_json"]
    assert "not JSON" in str(error) and "/rest/" in str(error)
    assert unchanged


def test_second_run_converges_restated_day_replaced_and_vanished_day_zeroed(live):
    assert live["second_exit"] == 0
    n, distinct = live["raw_rows_second"]
    assert n == distinct == len(live["raw_second"])  # nothing duplicated
    restated, vanished = live["restated"], live["vanished"]
    assert live["raw_second"][restated] == (
        live["raw_first"][restated][0],
        1,
        Decimal("1.000000000000000001"),
        live["raw_first"][restated][3],
    )
    assert live["raw_second"][vanished] == live["raw_first"][vanished]  # raw keeps what came
    assert live["mart_second"][restated] == live["raw_second"][restated]
    assert live["mart_second"][vanished] == (0, 0, Decimal(0), 0)  # decided in dbt
    others = {k: v for k, v in live["mart_second"].items() if k != vanished}
    assert others == live["truth_second"]
