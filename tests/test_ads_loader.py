"""The LinkedIn Ads loader against a real PostgreSQL and the test-mode server over HTTP.

One warehouse for the module and a sequence of loads the tests share (in file order): the
first load (30 days), a second load with nothing new, a restated day, a vanished row, a
backfill. Then independent cases: file import, test-method connections, and the access
token never reaching logs, errors or the warehouse."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from app import cli
from loaders.linkedin_ads import settings as s
from loaders.linkedin_ads.helpers import HttpSettings, LinkedInConfigError
from loaders.linkedin_ads.run import ensure_raw_tables, load_linkedin_ads
from outreach.settings import load_settings
from testing.linkedin_ads import LinkedInAdsTestServer, requested_range

TODAY = datetime.now(UTC).date()
ACCOUNTS = ["510000001", "510000002"]
FAST = HttpSettings(max_attempts=4, backoff_factor=0.0, max_delay_s=0.01)


@pytest.fixture
def server():  # per test: some tests restate or remove the server's rows
    with LinkedInAdsTestServer(accounts=ACCOUNTS, today=TODAY, token="test-token") as srv:
        yield srv


def load(url, server, **kw):
    kw.setdefault("end_date", TODAY)  # the test's clock: the server's today, not the wall's
    return load_linkedin_ads(
        database_url=url,
        accounts=ACCOUNTS,
        endpoint=(server.base_url, server.token),
        http=FAST,
        progress=lambda _m: None,
        **kw,
    )


def rows(url, sql, *args):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, args).fetchall()


def analytics(url) -> dict[tuple[str, date], tuple]:
    return {
        (r[0], r[1]): r[2:]
        for r in rows(
            url,
            "select campaign_id, date, impressions, clicks, cost_in_local_currency, "
            "external_website_conversions, _loaded_at from raw_linkedin_ads.campaign_analytics",
        )
    }


def truth(server, start, end) -> dict[tuple[str, date], tuple]:
    out = {}
    for account in ACCOUNTS:
        for e in server.elements(account, start, end):
            day = date(**e["dateRange"]["start"])
            out[(e["pivotValues"][0].rsplit(":", 1)[1], day)] = (
                e["impressions"],
                e["clicks"],
                Decimal(e["costInLocalCurrency"]),
                e.get("externalWebsiteConversions", 0),
            )
    return out


# ------------------------------------------------------------------ the load sequence
# Each test starts from an empty warehouse and runs the loads before the one it checks.
def test_empty_raw_tables_exist_before_any_load(fresh_warehouse):
    warehouse = fresh_warehouse  # an empty database: the module's has the raw tables already
    assert ensure_raw_tables(warehouse) is True
    assert ensure_raw_tables(warehouse) is False
    for table in s.TABLES:
        assert rows(warehouse, f"select count(*) from raw_linkedin_ads.{table}") == [(0,)]
    indexes = rows(
        warehouse,
        "select indexdef from pg_indexes where schemaname = 'raw_linkedin_ads' "
        "and tablename = 'campaign_analytics' order by 1",
    )
    assert [r[0].split(" USING btree ")[1] for r in indexes] == [
        "(account_id, date)",
        "(campaign_id, date)",
    ]


def test_first_load_lands_30_days_with_exact_numeric_costs(fresh_warehouse, server):
    warehouse = fresh_warehouse
    summary = load(warehouse, server)
    start = TODAY - timedelta(days=s.DEFAULT_INITIAL_DAYS - 1)
    expected = truth(server, start, TODAY)
    got = analytics(warehouse)
    assert {k: v[:4] for k, v in got.items()} == expected
    assert summary.total("new") == len(expected) and summary.written == len(expected)
    column = rows(
        warehouse,
        "select data_type, numeric_precision, numeric_scale from information_schema.columns "
        "where table_schema = 'raw_linkedin_ads' and table_name = 'campaign_analytics' "
        "and column_name = 'cost_in_local_currency'",
    )
    assert column == [("numeric", 38, 20)]
    total = rows(
        warehouse, "select sum(cost_in_local_currency) from raw_linkedin_ads.campaign_analytics"
    )
    assert total[0][0] == sum(v[2] for v in expected.values())  # exact, not float
    names = dict(rows(warehouse, "select campaign_id, name from raw_linkedin_ads.campaigns"))
    assert names[server.scenario_campaign.campaign_id] == "Webinar Promo (EMEA)"
    assert len(names) == 8
    assert rows(warehouse, "select account_id, currency from raw_linkedin_ads.accounts order by 1")[
        0
    ] == (
        "510000001",
        "USD",
    )


def test_second_load_repulls_only_the_lookback_window_and_writes_nothing(fresh_warehouse, server):
    warehouse = fresh_warehouse
    load(warehouse, server)
    before = analytics(warehouse)
    server.requests.clear()
    summary = load(warehouse, server)
    starts = {requested_range(r.query)[0] for r in server.analytics_requests()}
    assert starts == {TODAY - timedelta(days=s.DEFAULT_LOOKBACK_DAYS - 1)}
    assert summary.total("new") == summary.total("restated") == 0
    assert summary.total("unchanged") == summary.total("rows") > 0
    assert {k: v[:4] for k, v in analytics(warehouse).items()} == {
        k: v[:4] for k, v in before.items()
    }  # the numbers did not change


def test_restated_day_in_the_lookback_window_replaces_the_old_numbers(fresh_warehouse, server):
    warehouse = fresh_warehouse
    load(warehouse, server)
    campaign = server.scenario_campaign.campaign_id
    day = TODAY - timedelta(days=3)
    before = analytics(warehouse)
    server.restate(campaign, day, clicks=180, cost="742.2222220380")
    summary = load(warehouse, server)
    after = analytics(warehouse)
    assert summary.total("restated") == 1
    assert after[(campaign, day)][:4] == (10_000, 180, Decimal("742.2222220380"), 10)
    assert after[(campaign, day)][4] > before[(campaign, day)][4]  # _loaded_at moved
    unchanged = {k: v[:4] for k, v in after.items() if k != (campaign, day)}
    assert unchanged == {k: v[:4] for k, v in before.items() if k != (campaign, day)}
    pulls = rows(
        warehouse,
        "select restated_rows, source, method from raw_linkedin_ads.pulls "
        "order by _loaded_at desc, account_id limit 1",
    )
    assert pulls == [(1, "api", "oauth")]


def test_row_that_vanished_from_a_repulled_window_becomes_zeros(fresh_warehouse, server):
    warehouse = fresh_warehouse
    load(warehouse, server)
    campaign = server.scenario_campaign.campaign_id
    day = TODAY - timedelta(days=2)
    server.remove(campaign, day)
    summary = load(warehouse, server)
    assert summary.total("zeroed") == 1  # the raw row stays; dbt zeroes it (vanished day)
    assert analytics(warehouse)[(campaign, day)][0] == 10_000
    assert load(warehouse, server).total("zeroed") == 0  # counted once, not on every load


def test_backfill_from_a_start_date_adds_the_older_days(fresh_warehouse, server):
    warehouse = fresh_warehouse
    load(warehouse, server)
    start = TODAY - timedelta(days=44)
    summary = load(warehouse, server, start_date=start, end_date=TODAY - timedelta(days=30))
    got = analytics(warehouse)
    assert summary.total("new") == len(truth(server, start, TODAY - timedelta(days=30)))
    assert min(k[1] for k in got) == min(k[1] for k in truth(server, start, TODAY))


# ------------------------------------------------------------------ independent cases
def test_a_first_backfill_starts_the_cursor_so_the_next_run_repulls_only_the_lookback(
    fresh_warehouse, server
):
    first = load(fresh_warehouse, server, start_date=TODAY - timedelta(days=59))
    assert first.total("new") == len(truth(server, TODAY - timedelta(days=59), TODAY))
    server.requests.clear()
    summary = load(fresh_warehouse, server)
    starts = {requested_range(r.query)[0] for r in server.analytics_requests()}
    assert starts == {TODAY - timedelta(days=s.DEFAULT_LOOKBACK_DAYS - 1)}
    assert summary.total("new") == 0 and summary.total("unchanged") == summary.written > 0


def test_a_lost_dlt_working_folder_still_repulls_only_the_lookback(fresh_warehouse, server):
    """The cursors are restored from the warehouse (dlt's state table) when the machine's
    working folder is gone: no account looks new, nothing is pulled twice."""
    from outreach.dlt_pipelines import pipelines_dir_for

    load(fresh_warehouse, server)
    shutil.rmtree(pipelines_dir_for(fresh_warehouse) / s.PIPELINE_NAME)
    server.requests.clear()
    summary = load(fresh_warehouse, server)
    starts = {requested_range(r.query)[0] for r in server.analytics_requests()}
    assert starts == {TODAY - timedelta(days=s.DEFAULT_LOOKBACK_DAYS - 1)}
    assert summary.total("new") == 0 and summary.total("unchanged") == summary.written > 0


def test_exported_response_loads_from_a_file_and_twice_changes_nothing(
    fresh_warehouse, tmp_path, capsys
):
    with LinkedInAdsTestServer(accounts=["510000001"], today=TODAY) as srv:
        export = {
            "paging": {},
            "elements": srv.elements("510000001", TODAY - timedelta(days=4), TODAY),
        }
    path = tmp_path / "adAnalytics-export.json"
    path.write_text(json.dumps(export))
    args = ["load", "linkedin-ads", "--from-file", str(path), "--account", "510000001"]
    assert cli.main(args) == 0
    assert f"{len(export['elements'])} new" in capsys.readouterr().out
    assert cli.main(args) == 0
    assert "0 new, 0 restated" in capsys.readouterr().out
    got = rows(
        fresh_warehouse,
        "select count(*), count(distinct account_id), min(account_id) "
        "from raw_linkedin_ads.campaign_analytics",
    )
    assert got == [(len(export["elements"]), 1, "510000001")]
    assert rows(
        fresh_warehouse, "select source, file_name from raw_linkedin_ads.pulls limit 1"
    ) == [("file", "adAnalytics-export.json")]


def test_test_method_connection_uses_a_local_server_even_with_the_real_base_url(
    fresh_warehouse, tmp_path, monkeypatch
):
    monkeypatch.delenv("OUTREACH_TEST_MODE", raising=False)
    monkeypatch.setenv("LINKEDIN_BASE_URL", "https://api.linkedin.com")
    monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", "real-token-never-sent-to-a-test-server")
    path = tmp_path / "connections.yml"
    path.write_text("connections:\n  - {name: sandbox, account: 510000007, method: test}\n")
    messages: list[str] = []
    summary = load_linkedin_ads(
        database_url=fresh_warehouse, connections_file=path, progress=messages.append
    )
    assert summary.total("rows") > 0
    assert any(
        "started the local LinkedIn Ads test server at http://127.0.0.1:" in m for m in messages
    )
    assert rows(fresh_warehouse, "select connection, method from raw_linkedin_ads.pulls") == [
        ("sandbox", "test")
    ]


def test_oauth_connection_without_a_token_fails_clearly(fresh_warehouse, monkeypatch):
    monkeypatch.delenv("OUTREACH_TEST_MODE", raising=False)
    monkeypatch.delenv("LINKEDIN_ACCESS_TOKEN", raising=False)
    with pytest.raises(LinkedInConfigError, match="LINKEDIN_ACCESS_TOKEN is not set"):
        load_linkedin_ads(database_url=fresh_warehouse, accounts=["510000001"], progress=print)


def _warehouse_text(url: str) -> str:
    """Every row of every table in the database, as text."""
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('pg_catalog', 'information_schema') "
            "and table_type = 'BASE TABLE'"
        ).fetchall()
        return "\n".join(
            str(conn.execute(f'select t::text from "{schema}"."{name}" as t').fetchall())
            for schema, name in tables
        )


def test_access_token_never_reaches_logs_errors_or_the_warehouse(
    fresh_warehouse, monkeypatch, capfd
):
    """The CLI, in this process (so every log handler and print is captured at the file
    descriptors): a load through two 429s, then a 401; outputs, the warehouse and the dlt
    working folder are searched for the token."""
    token = "AQX-secret-linkedin-token-7f3a9c"
    monkeypatch.setenv("LINKEDIN_ACCESS_TOKEN", token)
    monkeypatch.setenv("LINKEDIN_AD_ACCOUNTS", "510000001")
    monkeypatch.setenv("OUTREACH_TEST_MODE", "false")
    with LinkedInAdsTestServer(accounts=["510000001"], today=TODAY, token=token) as srv:
        monkeypatch.setenv("LINKEDIN_BASE_URL", srv.base_url)
        srv.configure(rate_limit_count=2, retry_after="1")
        assert cli.main(["load", "linkedin-ads"]) == 0
        ok = capfd.readouterr()
        assert "2 rate-limited" in ok.out
        srv.configure(expired=True)
        assert cli.main(["load", "linkedin-ads"]) == 2
        expired = capfd.readouterr()
    assert "LinkedIn access token has expired" in expired.err
    assert "LINKEDIN_ACCESS_TOKEN" in expired.err
    for output in (ok.out, ok.err, expired.out, expired.err):
        assert token not in output
    dump = _warehouse_text(fresh_warehouse)
    assert dump.count("510000001") > 0 and token not in dump
    dlt_dirs = list(
        (load_settings().state_dir / "dlt").glob(f"{fresh_warehouse.rsplit('/', 1)[1]}-*")
    )
    assert dlt_dirs
    for folder in dlt_dirs:
        for f in Path(folder).rglob("*"):
            if f.is_file():
                assert token.encode() not in f.read_bytes(), f
