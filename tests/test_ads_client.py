"""The LinkedIn Ads client and test-mode server, over real HTTP on 127.0.0.1 (no database):
Rest.li 2.0 query encoding, 401 / 429 handling, the 15,000-element cap, exact costs,
campaign paging and the connections config."""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import httpx
import pyarrow as pa
import pytest

from loaders.linkedin_ads import settings as s
from loaders.linkedin_ads.helpers import (
    HttpSettings,
    LinkedInAdsClient,
    LinkedInAuthError,
    LinkedInConfigError,
    LinkedInDataError,
    LinkedInRateLimited,
    LinkedInServerError,
    LinkedInTransportError,
    analytics_query,
    analytics_table,
    parse_element,
)
from loaders.linkedin_ads.run import resolve_connections
from outreach.settings import load_settings
from testing.linkedin_ads import LinkedInAdsTestServer, requested_range

TODAY = date(2025, 3, 12)
FAST = HttpSettings(max_attempts=4, backoff_factor=0.0, max_delay_s=0.01, timeout_s=(2, 10))
SHORT = HttpSettings(max_attempts=4, backoff_factor=0.0, max_delay_s=0.01, timeout_s=(2, 0.3))
HEADERS = {"LinkedIn-Version": s.API_VERSION, "X-Restli-Protocol-Version": "2.0.0"}


@pytest.fixture
def server():
    with LinkedInAdsTestServer(accounts=["510000001"], today=TODAY, token="t0k3n") as srv:
        yield srv


def client_for(server, token="t0k3n", **kw) -> LinkedInAdsClient:
    return LinkedInAdsClient(server.base_url, token, kw.pop("http", FAST))


def test_restli_query_keeps_syntax_unencoded_and_encodes_urns_in_lists():
    query = analytics_query(["510000001", "7"], date(2025, 1, 2), date(2025, 1, 31))
    assert query == (
        "q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY"
        "&dateRange=(start:(year:2025,month:1,day:2),end:(year:2025,month:1,day:31))"
        "&accounts=List(urn%3Ali%3AsponsoredAccount%3A510000001,urn%3Ali%3AsponsoredAccount%3A7)"
        "&fields=dateRange,pivotValues,impressions,clicks,costInLocalCurrency,externalWebsiteConversions"
    )


def test_generic_urlencode_of_date_range_is_refused_with_400_like_linkedin(server):
    params = {
        "q": "analytics",
        "pivot": "CAMPAIGN",
        "timeGranularity": "DAILY",
        "dateRange": "(start:(year:2025,month:3,day:1))",
        "accounts": "List(urn:li:sponsoredAccount:510000001)",
    }
    bad = httpx.get(
        f"{server.base_url}{s.ANALYTICS_PATH}?{urlencode(params)}",
        headers={**HEADERS, "Authorization": "Bearer t0k3n"},
    )
    assert bad.status_code == 400
    assert bad.json()["message"] == "Parameter 'dateRange' is invalid"
    good = client_for(server).analytics("510000001", date(2025, 3, 1), date(2025, 3, 1))
    assert good and all(
        e["dateRange"]["start"] == {"year": 2025, "month": 3, "day": 1} for e in good
    )


def test_429_is_retried_by_dlts_client_then_succeeds(server):
    server.configure(rate_limit_count=2)
    client = client_for(server)
    assert client.analytics("510000001", TODAY, TODAY)
    assert client.stats["rate_limited"] == 2 and client.stats["requests"] == 3
    assert [r.status for r in server.analytics_requests()] == [429, 429, 200]


def test_retry_after_header_sets_the_wait_not_the_backoff(server):
    """Two 429s with ``Retry-After: 1``: dlt's client waits 1 s before each retry, not the
    30 s and 60 s of the backoff. (``Retry-After: 0`` would not show it: dlt, like urllib3,
    takes a wait of 0 or less as no header and falls back to the backoff.)"""
    server.configure(rate_limit_count=2, retry_after="1")
    slow_backoff = HttpSettings(max_attempts=3, backoff_factor=30, max_delay_s=60)
    started = time.monotonic()
    assert client_for(server, http=slow_backoff).analytics("510000001", TODAY, TODAY)
    waited = time.monotonic() - started
    assert [r.status for r in server.analytics_requests()] == [429, 429, 200]
    assert 2 <= waited < 30, f"waited {waited:.1f}s: the header's 1 s twice, not the backoff"


def test_burst_of_5xx_and_a_proxy_html_page_are_retried(server):
    server.configure(server_error_count=2, html_count=1)
    client = client_for(server)
    assert client.analytics("510000001", TODAY, TODAY)
    assert client.stats["server_errors"] == 3
    server.configure(server_error_count=10)
    with pytest.raises(LinkedInServerError, match="/rest/adAnalytics with 500.*after 4 attempts"):
        client.analytics("510000001", TODAY, TODAY)


def test_answer_slower_than_the_timeout_is_retried_then_a_transport_error(server):
    server.configure(slow_count=1, slow_seconds=1.0)
    assert client_for(server, http=SHORT).account("510000001")["id"] == 510000001
    server.configure(slow_count=10, slow_seconds=1.0)
    with pytest.raises(LinkedInTransportError, match="no answer after 4 attempts.*Timeout"):
        client_for(server, http=SHORT).account("510000001")


def test_non_json_body_is_a_data_error_naming_the_request(server):
    server.configure(html_count=1, html_status=200)
    with pytest.raises(LinkedInDataError, match=r"GET /rest/adAccounts/510000001 .*not JSON"):
        client_for(server).account("510000001")
    server.configure(html_count=1, html_status=200)
    with pytest.raises(LinkedInDataError, match="adCampaigns.*not JSON"):
        list(client_for(server).campaigns("510000001"))


def test_403_names_the_missing_scope_and_role(server):
    server.configure(forbidden=True)
    with pytest.raises(LinkedInAuthError) as err:
        client_for(server).analytics("510000001", TODAY, TODAY)
    assert err.value.status == 403 and err.value.code == "ACCESS_DENIED"
    assert "r_ads_reporting" in str(err.value) and "role on the ad account" in str(err.value)
    assert len(server.requests) == 1  # never retried


def test_throttling_on_every_attempt_raises_rate_limited(server):
    server.configure(rate_limit_count=100)
    with pytest.raises(LinkedInRateLimited, match="after 4 attempts"):
        client_for(server).analytics("510000001", TODAY, TODAY)
    assert len(server.requests) == FAST.max_attempts


def test_expired_token_fails_at_once_with_a_clear_message_without_the_token(server):
    server.configure(expired=True)
    with pytest.raises(LinkedInAuthError) as err:
        client_for(server).account("510000001")
    text = str(err.value)
    assert "expired" in text and "LINKEDIN_ACCESS_TOKEN" in text and "r_ads_reporting" in text
    assert "t0k3n" not in text and err.value.code == "EXPIRED_ACCESS_TOKEN"
    assert len(server.requests) == 1  # a 401 is never retried


def test_wrong_token_is_invalid_access_token(server):
    with pytest.raises(LinkedInAuthError, match="is invalid") as err:
        client_for(server, token="not-the-token").account("510000001")
    assert "not-the-token" not in str(err.value)


def test_date_range_over_the_element_cap_is_split_until_nothing_is_cut():
    start, end = TODAY - timedelta(days=29), TODAY
    with LinkedInAdsTestServer(
        accounts=["510000009"], campaigns_per_account=600, today=TODAY, scenario=False
    ) as srv:
        truth = len(srv.elements("510000009", start, end))
        assert truth > s.MAX_ELEMENTS_PER_RESPONSE
        client = LinkedInAdsClient(srv.base_url, srv.token, FAST)
        # told there is 1 campaign, the client asks for 30 days at once, gets a cut answer
        windows = list(client.daily_campaign_analytics("510000009", start, end, campaigns=1))
        assert sum(len(table) for table, _ in windows) == truth
        assert client.stats["split_windows"] >= 1
        assert all(len(table) < s.MAX_ELEMENTS_PER_RESPONSE for table, _ in windows)
        # told the truth (600 campaigns), it sizes the windows right the first time
        sized = LinkedInAdsClient(srv.base_url, srv.token, FAST)
        got = list(sized.daily_campaign_analytics("510000009", start, end, campaigns=600))
        assert sum(len(table) for table, _ in got) == truth and sized.stats["split_windows"] == 0
        assert [requested_range(r.query) for r in srv.analytics_requests()][-2:] == [
            (start, start + timedelta(days=23)),  # (15,000 - 1) // 600 = 24 days
            (start + timedelta(days=24), end),
        ]


def test_campaigns_are_paged_with_the_cursor():
    with LinkedInAdsTestServer(accounts=["510000003"], campaigns_per_account=230) as srv:
        client = LinkedInAdsClient(srv.base_url, srv.token, FAST)
        campaigns = list(client.campaigns("510000003"))
    assert len(campaigns) == 230 and len({c["id"] for c in campaigns}) == 230
    assert len([r for r in srv.requests if r.path.endswith("/adCampaigns")]) == 3


def element(campaign: str, cost: str) -> dict:
    day = {"year": TODAY.year, "month": TODAY.month, "day": TODAY.day}
    return {
        "pivotValues": [f"urn:li:sponsoredCampaign:{campaign}"],
        "dateRange": {"start": day, "end": day},
        "costInLocalCurrency": cost,
    }


def test_costs_stay_exact_decimals_and_over_precise_ones_are_rounded_and_counted():
    values = ["0.1", "0.2", "57.60883087848873", "1E-5", "123456789012345678.12345678901234567890"]
    table, rounded = analytics_table("1", [element(str(i), v) for i, v in enumerate(values)])
    assert table.schema.field("cost_in_local_currency").type == pa.decimal128(38, 20)
    got = table.column("cost_in_local_currency").to_pylist()
    assert got == [Decimal(v) for v in values] and rounded == 0
    assert got[0] + got[1] == Decimal("0.3")  # not 0.30000000000000004
    table, rounded = analytics_table("1", [element("x", "0.123456789012345678901234")])
    assert rounded == 1
    assert table.column("cost_in_local_currency")[0].as_py() == Decimal("0.12345678901234567890")


def test_elements_that_are_not_daily_campaign_rows_are_rejected():
    day = {"year": 2025, "month": 3, "day": 1}
    ok = {"pivotValues": ["urn:li:sponsoredCampaign:42"], "dateRange": {"start": day, "end": day}}
    assert parse_element(ok) == ("42", date(2025, 3, 1), 0, 0, "0", 0)
    with pytest.raises(LinkedInDataError, match="campaign URN"):
        parse_element({**ok, "pivotValues": ["urn:li:sponsoredCreative:1"]})
    with pytest.raises(LinkedInDataError, match="more than a day"):
        parse_element({**ok, "dateRange": {"start": day, "end": {**day, "day": 2}}})
    with pytest.raises(LinkedInDataError, match="not a count"):
        parse_element({**ok, "clicks": 1.5})
    with pytest.raises(LinkedInDataError, match="costInLocalCurrency"):
        analytics_table("1", [element("42", "12,50")])


def test_connections_file_sets_the_method_per_connection(tmp_path, monkeypatch):
    monkeypatch.delenv("OUTREACH_TEST_MODE", raising=False)
    path = tmp_path / "connections.yml"
    path.write_text(
        "connections:\n"
        "  - {name: brand, account: 'urn:li:sponsoredAccount:507404993', method: oauth}\n"
        "  - {name: sandbox, account: 510000001, method: test}\n"
    )
    conns = resolve_connections(connections_file=path, settings=load_settings())
    assert [(c.name, c.account_id, c.method) for c in conns] == [
        ("brand", "507404993", "oauth"),
        ("sandbox", "510000001", "test"),
    ]
    monkeypatch.setenv("OUTREACH_TEST_MODE", "true")  # global test mode wins
    conns = resolve_connections(connections_file=path, settings=load_settings())
    assert {c.method for c in conns} == {"test"}
    path.write_text("connections:\n  - {account: 1, method: password}\n")
    with pytest.raises(LinkedInConfigError, match="method 'password'"):
        resolve_connections(connections_file=path, settings=load_settings())


def test_no_accounts_outside_test_mode_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("OUTREACH_TEST_MODE", raising=False)
    monkeypatch.delenv("LINKEDIN_AD_ACCOUNTS", raising=False)
    with pytest.raises(LinkedInConfigError, match="LINKEDIN_AD_ACCOUNTS"):
        resolve_connections(settings=load_settings())
    with pytest.raises(LinkedInConfigError, match="not a LinkedIn ad account id"):
        resolve_connections(accounts=["acme"], settings=load_settings())


def test_server_data_is_deterministic_and_the_scenario_drops_on_its_date():
    kwargs = {"accounts": ["510000001"], "today": TODAY, "drop_date": TODAY}
    with LinkedInAdsTestServer(**kwargs) as a, LinkedInAdsTestServer(**kwargs) as b:
        start = TODAY - timedelta(days=10)
        assert a.elements("510000001", start, TODAY) == b.elements("510000001", start, TODAY)
        scenario = a.scenario_campaign
        before = a.metrics(scenario, TODAY - timedelta(days=1))
        after = a.metrics(scenario, TODAY)
        assert before["clicks"] / before["impressions"] == 0.021
        assert after["clicks"] / after["impressions"] == 0.015
        assert a.metrics(scenario, TODAY + timedelta(days=1)) is None  # not there yet
