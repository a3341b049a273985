"""Monitoring thresholds (seeds/monitoring_thresholds.csv) through real dbt builds: every
threshold fires on data made to cross it and stays quiet on data just at or below it;
alerts keep their ids across rebuilds and go out through the outbox; the job metrics mart
and the published error views compute what they say.

One full build per module, then per scenario: reset the raw data, write the scenario's
jobs/events/errors, and rebuild only the monitoring models at a pinned as_of."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

from app.dbt import run_dbt
from outreach import events as ev

pytestmark = pytest.mark.slow

AS_OF = datetime.fromisoformat("2026-03-01T12:00:00+00:00")
VARS = ["--vars", json.dumps({"as_of": AS_OF.isoformat()})]
MONITORING = [
    "stg_ops__pipeline_events",
    "stg_ops__pipeline_errors",
    "monitoring_thresholds",
    "int_ops_threshold_values",
    "ops_alerts",
    "ops_alert_notifications",
    "pipeline_events",
    "pipeline_errors",
    "vw_error_rate_24h",
    "vw_unresolved_errors",
    "linkedin_refresh_job_metrics",
]


def ago(**delta) -> datetime:
    return AS_OF - timedelta(**delta)


class Scenario:
    """Raw rows for one scenario: refresh jobs (with their detected changes), events, errors."""

    def __init__(self) -> None:
        self.jobs: list[tuple] = []
        self.changes: list[tuple[str, int]] = []
        self.events: list[tuple[str, str, datetime]] = []
        self.errors: list[tuple[str, datetime]] = []

    def job(self, status, ended, *, total=100, skipped=0, changed=0, minutes=5.0) -> Scenario:
        n = len(self.jobs) + 1
        job_unique_id = f"04.04.06.01.{n:05d}.001"
        skipped = total if status == "failed" else skipped
        started = ended - timedelta(minutes=minutes)
        self.jobs.append((job_unique_id, n, status, total, skipped, started, ended))
        if changed:
            self.changes.append((job_unique_id, changed))
        return self

    def event(self, event_type, created_at, status="processed", n=1) -> Scenario:
        self.events += [(event_type, status, created_at)] * n
        return self

    def error(self, event_type, created_at, n=1) -> Scenario:
        self.errors += [(event_type, created_at)] * n
        return self

    def write(self, url: str) -> None:
        with psycopg.connect(url) as conn:
            conn.execute("truncate raw_apify.refresh_jobs")
            conn.execute("truncate raw_ops.pipeline_events, raw_ops.pipeline_errors")
            conn.execute(
                "delete from marketing.people_intelligence where intel_unique_id like 'T%'"
            )
            with conn.cursor() as cur:
                cur.executemany(
                    """
                    insert into raw_apify.refresh_jobs (
                        job_unique_id, id, status, trigger, total_profiles, profiles_skipped,
                        run_started_at, run_completed_at, created_at, updated_at
                    ) values (%s, %s, %s, 'scheduled', %s, %s, %s, %s, %s, %s)
                    """,
                    [(*j, j[5], j[6]) for j in self.jobs],
                )
                cur.executemany(
                    "insert into marketing.people_intelligence (intel_unique_id, metadata)"
                    " values (%s, %s)",
                    [
                        (f"T{job}-{i}", Jsonb({"refresh_job_id": job}))
                        for job, changed in self.changes
                        for i in range(changed)
                    ],
                )
                cur.executemany(
                    "insert into raw_ops.pipeline_events"
                    " (event_type, status, created_at, processed_at) values (%s, %s, %s, %s)",
                    [(t, s, c, None if s == "pending" else c) for t, s, c in self.events],
                )
                cur.executemany(
                    "insert into raw_ops.pipeline_errors"
                    " (event_type, error_message, severity, created_at) values (%s, 'x', 'error', %s)",
                    self.errors,
                )


def crossing_warnings() -> Scenario:
    """Every warning crosses its threshold: 3 of 10 jobs failed (30 % > 20 %, < 50 %), the
    completed jobs skipped 40 % and changed 1 of 360 observed profiles (0.28 % < 1 %), one
    ran 20 minutes; 101 events pending for 10 minutes; 2 errors on 10 events in the hour."""
    s = Scenario()
    for day in range(3):
        s.job("failed", ago(days=day + 1))
    for day in range(6):
        s.job("completed", ago(days=day + 4), skipped=40, changed=1 if day == 0 else 0)
    s.job("completed", ago(days=2, hours=1), total=0, minutes=20)  # no profiles, long
    s.event("load.intake", ago(minutes=10), status="pending", n=101)
    s.event("dbt.build", ago(minutes=30), n=10).error("dbt.build", ago(minutes=20), n=2)
    return s


def crossing_critical() -> Scenario:
    """2 of 2 jobs in the window failed (100 % > 50 %) and the last completed refresh was 50
    days ago (> 45)."""
    s = Scenario()
    s.job("completed", ago(days=50), changed=5)
    s.job("failed", ago(days=3))
    s.job("failed", ago(days=2))
    return s


def at_or_below() -> Scenario:
    """Every value sits on its limit or just inside: 2 of 10 jobs failed (20 %), completed
    jobs skipped 30 % and changed 5 of 490 observed (1.02 %), the longest ran 15 minutes,
    the last success was yesterday; exactly 100 events pending for over 5 minutes (50 more
    for 2 minutes; 500 older ones processed); 1 error on 10 events in the hour (10 %) and 9
    more errors 2 hours ago."""
    s = Scenario()
    for day in range(2):
        s.job("failed", ago(days=day + 2))
    for day in range(7):
        s.job("completed", ago(days=day + 1), skipped=30, changed=1 if day < 5 else 0)
    s.job("completed", ago(days=1, hours=2), total=0, minutes=15)
    s.event("load.intake", ago(minutes=6), status="pending", n=100)
    s.event("load.intake", ago(minutes=2), status="pending", n=50)
    s.event("load.intake", ago(hours=3), n=500)
    s.event("dbt.build", ago(minutes=30), n=10).error("dbt.build", ago(minutes=20))
    s.error("dbt.build", ago(hours=2), n=9)
    return s


SCENARIOS = {
    "crossing_warnings": crossing_warnings,
    "crossing_critical": crossing_critical,
    "at_or_below": at_or_below,
}

# threshold -> (scenario that crosses it, scenarios that stay below it)
CASES = {
    "refresh_failure_rate_warning": ("crossing_warnings", ["at_or_below"]),
    "refresh_failure_rate_critical": ("crossing_critical", ["at_or_below", "crossing_warnings"]),
    "refresh_change_rate_low": ("crossing_warnings", ["at_or_below"]),
    "refresh_skip_rate_high": ("crossing_warnings", ["at_or_below"]),
    "refresh_duration_long": ("crossing_warnings", ["at_or_below"]),
    "refresh_success_stale": ("crossing_critical", ["at_or_below", "crossing_warnings"]),
    "pipeline_pending_backlog": ("crossing_warnings", ["at_or_below"]),
    "pipeline_error_rate_high": ("crossing_warnings", ["at_or_below"]),
}


def query(url: str, sql: str, *params) -> list[dict]:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
        names = [d.name for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def build_monitoring(*extra: str) -> None:
    run_dbt(["build", "-s", *MONITORING, *VARS, *extra], capture=True)


@pytest.fixture(scope="module")
def built(warehouse) -> str:
    # the monitoring models and everything they read (not the whole project: its other
    # marts and their tests have modules of their own)
    selected = [f"+{name}" for name in MONITORING]
    run_dbt(["build", "-s", *selected, "--indirect-selection", "cautious", *VARS], capture=True)
    return warehouse


@pytest.fixture(scope="module")
def results(built) -> dict[str, dict]:
    """Each scenario written and built from scratch; what the monitoring models said."""
    out = {}
    for name, make in SCENARIOS.items():
        make().write(built)
        build_monitoring("--full-refresh")
        out[name] = {
            "alerts": query(built, "select * from marketing.ops_alerts"),
            "values": query(built, "select * from intermediate.int_ops_threshold_values"),
            "notifications": query(built, "select * from marketing.ops_alert_notifications"),
            "metrics": query(built, "select * from marketing.linkedin_refresh_job_metrics"),
            "error_rate": query(built, "select * from marketing.vw_error_rate_24h"),
        }
    return out


def fired(result: dict, threshold_id: str) -> list[dict]:
    return [a for a in result["alerts"] if a["threshold_id"] == threshold_id]


@pytest.mark.parametrize("threshold_id", sorted(CASES))
def test_threshold_fires_when_crossed(results, threshold_id):
    crossing, _ = CASES[threshold_id]
    alerts = fired(results[crossing], threshold_id)
    assert len(alerts) == 1, (threshold_id, results[crossing]["values"])
    alert = alerts[0]
    assert alert["detected_at"] == AS_OF
    if alert["comparison"] == "above":
        assert alert["observed_value"] > alert["threshold"]
    else:
        assert alert["observed_value"] < alert["threshold"]


@pytest.mark.parametrize("threshold_id", sorted(CASES))
def test_threshold_stays_quiet_below_it(results, threshold_id):
    _, quiet = CASES[threshold_id]
    for scenario in quiet:
        assert fired(results[scenario], threshold_id) == [], scenario
        values = [v for v in results[scenario]["values"] if v["threshold_id"] == threshold_id]
        assert values and all(v["observed_value"] is not None for v in values), (scenario, values)


def test_observed_values_are_the_ones_the_scenarios_were_made_of(results):
    def value(scenario, threshold_id, subject=None):
        [v] = [
            v
            for v in results[scenario]["values"]
            if v["threshold_id"] == threshold_id and subject in (None, v["subject"])
        ]
        return float(v["observed_value"])

    assert value("crossing_warnings", "refresh_failure_rate_warning") == pytest.approx(0.3)
    assert value("at_or_below", "refresh_failure_rate_warning") == pytest.approx(0.2)
    assert value("crossing_warnings", "refresh_skip_rate_high") == pytest.approx(0.4)
    assert value("at_or_below", "refresh_skip_rate_high") == pytest.approx(0.3)
    assert value("crossing_warnings", "refresh_change_rate_low") == pytest.approx(1 / 360, abs=1e-6)
    assert value("at_or_below", "refresh_change_rate_low") == pytest.approx(5 / 490, abs=1e-6)
    assert value("crossing_warnings", "refresh_duration_long") == pytest.approx(20)
    assert value("at_or_below", "refresh_duration_long") == pytest.approx(15)
    assert value("crossing_critical", "refresh_success_stale") == pytest.approx(50)
    assert value("crossing_warnings", "pipeline_pending_backlog") == 101
    assert value("at_or_below", "pipeline_pending_backlog") == 100
    assert value("at_or_below", "pipeline_error_rate_high", "dbt.build") == pytest.approx(0.1)
    assert value("crossing_warnings", "pipeline_error_rate_high", "dbt.build") == pytest.approx(0.2)


def test_every_alert_has_one_notification_with_the_outbox_contract(results):
    result = results["crossing_warnings"]
    by_alert = {n["alert_id"]: n for n in result["notifications"]}
    assert set(by_alert) == {a["alert_id"] for a in result["alerts"]}
    for alert in result["alerts"]:
        note = by_alert[alert["alert_id"]]
        assert note["notification_id"] == f"ops_alert:{alert['alert_id']}"
        assert note["created_at"] == alert["detected_at"]
        assert note["payload"]["threshold"]["threshold_id"] == alert["threshold_id"]
        assert note["payload"]["message"].startswith(alert["severity"].upper())


def test_job_metrics_per_day_week_and_month(results):
    metrics = results["at_or_below"]["metrics"]
    by_grain = {g: [m for m in metrics if m["period_grain"] == g] for g in ("day", "week", "month")}
    [feb] = by_grain["month"]
    assert str(feb["period_start"]) == "2026-02-01"
    assert (feb["jobs"], feb["completed_jobs"], feb["failed_jobs"]) == (10, 8, 2)
    assert float(feb["success_rate"]) == pytest.approx(0.8)
    assert (feb["profiles_requested"], feb["profiles_observed"]) == (700, 490)
    assert (feb["profiles_changed"], feb["profiles_skipped"]) == (5, 210)
    assert float(feb["change_rate"]) == pytest.approx(5 / 490, abs=1e-6)
    assert float(feb["skip_rate"]) == pytest.approx(0.3)
    assert float(feb["avg_duration_minutes"]) == pytest.approx((9 * 5 + 15) / 10)
    # 490 profiles in 7 jobs x 5 minutes + one of 15 minutes without profiles
    assert float(feb["profiles_per_hour"]) == pytest.approx(490 / (50 / 60), rel=1e-4)
    for grain in ("day", "week"):
        assert sum(m["jobs"] for m in by_grain[grain]) == 10, grain
        assert all(m["period_start"].weekday() == 0 for m in by_grain["week"])
    single = [m for m in by_grain["day"] if m["jobs"] == 1 and m["profiles_requested"] == 100]
    assert single and all(float(m["profiles_per_hour"]) == pytest.approx(840) for m in single)


def test_error_rate_view_counts_the_last_24_hours_per_event_type(results):
    rates = {r["event_type"]: r for r in results["at_or_below"]["error_rate"]}
    assert rates["dbt.build"]["events"] == 10 and rates["dbt.build"]["errors"] == 10
    assert float(rates["dbt.build"]["error_rate"]) == 1.0
    assert rates["load.intake"]["pending_events"] == 150 and rates["load.intake"]["errors"] == 0


def test_rebuilding_keeps_alert_ids_and_new_evidence_is_a_new_alert(built, results):
    crossing_warnings().write(built)
    build_monitoring("--full-refresh")
    first = {a["alert_id"]: a for a in query(built, "select * from marketing.ops_alerts")}
    build_monitoring()
    assert {a["alert_id"] for a in query(built, "select * from marketing.ops_alerts")} == set(first)
    # a newer failed job: the failure-rate breach has new evidence, so a new alert
    with psycopg.connect(built) as conn:
        conn.execute(
            """
            insert into raw_apify.refresh_jobs (
                job_unique_id, id, status, trigger, total_profiles, profiles_skipped,
                run_started_at, run_completed_at, created_at, updated_at
            ) values ('04.04.06.01.00099.001', 99, 'failed', 'scheduled', 10, 10,
                %(t)s, %(t)s, %(t)s, %(t)s)
            """,
            {"t": ago(hours=1)},
        )
    build_monitoring()
    after = query(built, "select * from marketing.ops_alerts")
    new = [a for a in after if a["alert_id"] not in first]
    assert {a["threshold_id"] for a in new} >= {"refresh_failure_rate_warning"}
    assert all(
        a["evidence_key"] == "newest_job:99" for a in new if a["metric"].startswith("refresh")
    )


def test_alert_notifications_are_delivered_once_through_the_outbox(built, results):
    from exports.outbox import OutboxSpec, Webhook, deliver
    from testing.receiver import WebhookReceiver

    crossing_warnings().write(built)
    build_monitoring("--full-refresh")
    expected = query(built, "select notification_id from marketing.ops_alert_notifications")
    spec = OutboxSpec(
        target="ops_alerts",
        relation="marketing.ops_alert_notifications",
        id_column="notification_id",
    )
    with WebhookReceiver("s3cret") as receiver:
        report = deliver(built, spec, Webhook(receiver.url, "s3cret"), progress=lambda _m: None)
        again = deliver(built, spec, Webhook(receiver.url, "s3cret"), progress=lambda _m: None)
        got = {r.idempotency_key for r in receiver.accepted()}
    assert report.delivered == len(expected) > 0 and again.delivered == 0
    assert got == {r["notification_id"] for r in expected}


def test_resolving_an_error_takes_it_off_the_unresolved_view(built, results):
    error_id = ev.record_error(built, "load.linkedin_ads", "acct-1", "429 after retries")
    view = "select error_id from marketing.vw_unresolved_errors"
    assert error_id in {r["error_id"] for r in query(built, view)}
    ev.resolve_error(built, error_id)
    assert error_id not in {r["error_id"] for r in query(built, view)}
    [row] = query(built, "select * from marketing.pipeline_errors where error_id = %s", error_id)
    assert row["resolved"] is True and row["resolved_at"] is not None
