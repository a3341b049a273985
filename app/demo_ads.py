"""The LinkedIn Ads part of ``outreach demo``: the original bug's timeline, end to end.

1. Yesterday: 30 days of test-mode data land (the scripted campaign "Webinar Promo (EMEA)"
   at CTR 2.1 %), the KPI models build: its CTR KPI (target 2.5 %, alert below 1.8 %) is
   at_risk, no alert.
2. This morning: the next day's data arrives (CTR 1.5 %), the models rebuild right after
   the load and the alert step POSTs the alert, HMAC-signed, to a local webhook receiver.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from app.dagster_report import report_load
from loaders.linkedin_ads import settings as s

DEMO_SECRET = "outreach-demo-secret"


def _build(url: str, progress: Callable[[str], Any], command: str = "build") -> bool:
    import sys

    from app.dbt import run_dbt
    from outreach.progress import ProgressLine

    t = time.monotonic()
    line = ProgressLine(sys.stdout, prefix="      ")
    proc = run_dbt(
        [command, "--select", s.DBT_SELECT], url=url, check=False, capture=True, progress=line
    )
    if proc.returncode != 0:
        progress(proc.stdout[-6000:])
        progress(f"error: dbt {command} of the ads models failed (output above)")
        return False
    done = [line for line in proc.stdout.splitlines() if "Done. PASS=" in line]
    result = done[-1].split("Done. ", 1)[-1] if done else "ok"
    progress(f"dbt {command} (ads models): {result} ({time.monotonic() - t:.1f}s)")
    return True


def _kpi_lines(url: str) -> list[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            select kpi_name, scope_name, metric, current_value, target_value, alert_threshold,
                   status, data_as_of
            from marketing.kpi_current_values
            where alerts_enabled
            order by case status when 'breached' then 0 when 'at_risk' then 1 else 2 end,
                     kpi_name, scope_name
            limit 4
            """
        ).fetchall()
    out = []
    for name, scope, metric, value, target, threshold, status, day in rows:
        fmt = (
            (lambda v: f"{float(v):.2%}")
            if metric in ("ctr", "conversion_rate")
            else (lambda v: f"{float(v):,.2f}")
        )
        shown = fmt(value) if value is not None else "-"
        out.append(
            f"{name:<34} {scope:<28} {shown:>10}  target {fmt(target)}, alert "
            f"{'below' if metric in ('ctr', 'conversion_rate') else 'above'} {fmt(threshold)}: "
            f"{status} (data of {day})"
        )
    return out


def run_ads_demo(url: str, progress: Callable[[str], Any] = print) -> list[str] | None:
    """Run the timeline against ``url``; the summary lines, or None if a build failed."""
    import psycopg

    from exports.alerts import deliver_alerts
    from loaders.linkedin_ads.run import load_linkedin_ads
    from testing.linkedin_ads import LinkedInAdsTestServer
    from testing.receiver import WebhookReceiver

    today = datetime.now(UTC).date()
    server = LinkedInAdsTestServer(
        accounts=s.TEST_MODE_ACCOUNTS, today=today - timedelta(days=1), drop_date=today
    )
    with server, WebhookReceiver(DEMO_SECRET) as receiver:
        accounts = list(s.TEST_MODE_ACCOUNTS)

        def load() -> None:
            summary = load_linkedin_ads(
                database_url=url,
                accounts=accounts,
                endpoint=(server.base_url, server.token),
                progress=lambda _m: None,
                trigger="demo",
            )
            report_load("linkedin_ads", url, summary)  # the demo's history in Dagster too
            progress(
                f"loaded {summary.total('rows')} daily campaign rows ({summary.total('new')} new, "
                f"{summary.total('restated')} restated) for {len(accounts)} accounts"
            )

        progress(f"yesterday ({today - timedelta(days=1)}): 30 days of test-mode LinkedIn Ads data")
        load()
        if not _build(url, progress):
            return None
        for line in _kpi_lines(url):
            progress(f"  {line}")

        progress(f"this morning ({today}): the next day's data arrives (scripted CTR drop)")
        server.configure(today=today)
        load()
        loaded = time.monotonic()
        if not _build(url, progress, "run"):  # the models were tested in the first build
            return None
        report = deliver_alerts(
            url, webhook_url=receiver.url, secret=DEMO_SECRET, progress=lambda _m: None
        )
        receiver.wait_for(report.delivered, timeout=10)
        latency = time.monotonic() - loaded
        for line in _kpi_lines(url):
            progress(f"  {line}")
        for got in receiver.accepted():
            progress(
                f"alert received by the local webhook (signature verified): {got.body['message']}"
            )
        if not report.delivered:
            progress("no new alert: this breach was alerted before (no repeat while it lasts)")
    with psycopg.connect(url) as conn:
        daily = conn.execute(
            "select count(*) from marketing.linkedin_ads_campaign_daily"
        ).fetchone()[0]
        alerts = conn.execute(
            "select count(*) filter (where alert_status = 'open'), count(*) from marketing.kpi_alerts"
        ).fetchone()
    return [
        f"LinkedIn Ads: {daily:,} daily campaign rows; KPI alerts {alerts[0]} open of {alerts[1]}; "
        f"{report.delivered} delivered {latency:.1f}s after the morning load (receiver on 127.0.0.1)",
        "  KPIs live in seeds/kpi_definitions.csv; values in marketing.kpi_current_values, "
        "alerts in marketing.kpi_alerts, outbox marketing.kpi_alert_notifications",
    ]
