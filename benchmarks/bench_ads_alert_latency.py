"""Benchmark: from the end of a LinkedIn Ads load to the KPI alert arriving at a webhook.

    .venv/bin/python benchmarks/bench_ads_alert_latency.py [--repeats 1] [--full] [--keep]

The tool this project replaces checked alerts at midnight against values set when a KPI
was created: an alert came up to 24 hours after the data (or never). Here:

1. a fresh database on the warehouse server gets 30 days of test-mode data through
   yesterday (the scripted campaign at CTR 2.1 %); the ads models are built, and dbt's
   partial-parse state is made for this warehouse (as it is on a deployed one);
2. ``dagster dev`` (webserver, daemon, code server; the default run launcher and queued
   run coordinator, as ``outreach ui`` starts it) runs in its own process group with
   ALERT_WEBHOOK_URL pointing at a receiver in this process, on the code location
   ``benchmarks/ads_code_location.py`` (the ads flow's own Dagster objects; ``--full``: the
   whole ``orchestration.definitions``);
3. for each path, ``repeats`` times, the scripted campaign's next day arrives at CTR 1.5 %
   and the clock runs from the end of the load to the signed alert at the receiver
   (between repeats the day is restated above the threshold and processed first, so each
   drop is a new breach episode):
   - ``scheduled``: ``linkedin_ads_job`` launched through the webserver (what the 6-hourly
     schedule launches): load, ads models, alert step in one run; the load's end is its
     materialization of raw_linkedin_ads/campaign_analytics;
   - ``external``: the load runs outside Dagster (as ``outreach load linkedin-ads``); the
     ``linkedin_ads_kpi_trigger`` sensor (every 5 s) sees it and starts ``ads_kpi_job``;
4. baseline, same run, after dagster dev stopped: the same drop, then ``dbt build`` of the
   ads models and the alert step called directly - the work without any orchestration.

Prints one JSON document: every latency, the medians, per Dagster run the queue/launch time
and the run time, and the machine's load average (the figures scale with it).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-alert-secret"
ACCOUNTS = ["510000001", "510000002"]
LOCATIONS = "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"
LAUNCH = """
mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
"""
SENSORS = """
{ repositoriesOrError { ... on RepositoryConnection { nodes {
    sensors { name sensorState { ticks(limit: 1) { status cursor } } } } } } }
"""


def _with_db(url: str, dbname: str) -> str:
    return urlsplit(url)._replace(path=f"/{dbname}").geturl()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_group(proc: subprocess.Popen) -> None:
    for sig, grace in ((signal.SIGTERM, 60), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.5)


def _wait_for_sensor_tick(base: str, proc: subprocess.Popen, timeout: float = 600) -> float:
    import httpx

    started = time.monotonic()
    with httpx.Client(timeout=10) as client:
        while time.monotonic() - started < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {proc.returncode}")
            try:
                body = client.post(f"{base}/graphql", json={"query": SENSORS}).json()
                for repo in body["data"]["repositoriesOrError"]["nodes"]:
                    for sensor in repo["sensors"]:
                        ticks = sensor["sensorState"]["ticks"]
                        if (
                            sensor["name"] == "linkedin_ads_kpi_trigger"
                            and ticks
                            and ticks[0]["cursor"]
                        ):
                            return time.monotonic() - started
            except (httpx.TransportError, KeyError, TypeError, ValueError):
                pass
            time.sleep(1)
    raise RuntimeError("the sensor did not tick")


def _alert_statuses(url: str) -> list[tuple[str, str]]:
    import psycopg

    with psycopg.connect(url) as conn:
        if conn.execute("select to_regclass('marketing.kpi_alerts')").fetchone()[0] is None:
            return []
        return conn.execute("select alert_id, alert_status from marketing.kpi_alerts").fetchall()


def _closed(url: str) -> int:
    return sum(1 for _, status in _alert_statuses(url) if status == "closed")


def _wait(done: Callable[[], bool], what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting until {what}")
        time.sleep(0.5)


def _launch(base: str, job: str) -> str:
    """Launch a job of the code location through the webserver's GraphQL API."""
    import httpx

    with httpx.Client(timeout=60) as client:
        body = client.post(f"{base}/graphql", json={"query": LOCATIONS}).json()
        location = body["data"]["workspaceOrError"]["locationEntries"][0]["name"]
        params = {
            "selector": {
                "repositoryLocationName": location,
                "repositoryName": "__repository__",
                "jobName": job,
            },
            "runConfigData": {},
        }
        answer = client.post(
            f"{base}/graphql", json={"query": LAUNCH, "variables": {"p": params}}
        ).json()
    launched = answer["data"]["launchRun"]
    if launched["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"launch failed: {launched}")
    return launched["run"]["runId"]


def _instance(home: Path):
    from dagster import DagsterInstance

    return DagsterInstance.from_config(str(home))


def _run_finished(home: Path, run_id: str) -> bool:
    instance = _instance(home)
    try:
        run = instance.get_run_by_id(run_id)
        return run is not None and run.is_finished
    finally:
        instance.dispose()


def _last_load_materialization(home: Path, before: float) -> float:
    """Time of the newest materialization of raw_linkedin_ads/campaign_analytics before
    ``before`` (the end of the load step of a Dagster run)."""
    from dagster import AssetKey

    instance = _instance(home)
    try:
        records = instance.fetch_materializations(
            AssetKey(["raw_linkedin_ads", "campaign_analytics"]), limit=5
        ).records
        return max(r.timestamp for r in records if r.timestamp <= before)
    finally:
        instance.dispose()


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--repeats", type=int, default=1, help="measurements per path")
    p.add_argument("--keep", action="store_true", help="keep the database and DAGSTER_HOME")
    p.add_argument("--full", action="store_true", help="the whole orchestration.definitions")
    args = p.parse_args()

    import psycopg

    from app.dbt import run_dbt
    from exports.alerts import deliver_alerts
    from loaders.linkedin_ads import settings as s
    from loaders.linkedin_ads.run import load_linkedin_ads
    from outreach.settings import load_settings
    from outreach.warehouse import database_url
    from testing.linkedin_ads import LinkedInAdsTestServer
    from testing.receiver import WebhookReceiver

    today = datetime.now(UTC).date()
    server_url = database_url(load_settings())
    name = f"bench_alerts_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _with_db(server_url, name)
    os.environ["OUTREACH_DATABASE_URL"] = url
    home = Path(tempfile.mkdtemp(prefix="dagster_home_"))
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    server = LinkedInAdsTestServer(
        accounts=ACCOUNTS, today=today - timedelta(days=1), drop_date=today
    )
    receiver = WebhookReceiver(SECRET)
    out: dict = {"machine_cpus": os.cpu_count(), "goal_s": 60, "before_s": 24 * 3600}
    proc = None
    scenario = None

    def load() -> float:
        load_linkedin_ads(
            database_url=url,
            accounts=ACCOUNTS,
            endpoint=(server.base_url, server.token),
            progress=lambda _m: None,
            trigger="cli",
        )
        return time.time()

    try:
        server.start()
        receiver.start()
        scenario = server.scenario_campaign.campaign_id
        load()
        proc_build = run_dbt(
            ["build", "--select", s.DBT_SELECT], url=url, check=False, capture=True
        )
        assert proc_build.returncode == 0, proc_build.stdout[-3000:]
        # dbt's partial-parse state for this warehouse's profile, as on a deployed one
        run_dbt(["parse", "--quiet"], url=url, check=True, capture=True)

        from outreach.dbt import dbt_env

        port = _free_port()
        env = {
            **os.environ,
            **dbt_env(url),
            "DAGSTER_HOME": str(home),
            "ALERT_WEBHOOK_URL": receiver.url,
            "OUTREACH_WEBHOOK_SECRET": SECRET,
            "LINKEDIN_BASE_URL": server.base_url,
            "LINKEDIN_ACCESS_TOKEN": server.token,
            "LINKEDIN_AD_ACCOUNTS": ",".join(ACCOUNTS),
            "OUTREACH_TEST_MODE": "false",
        }
        location = (
            ["-m", "orchestration.definitions"]
            if args.full
            else ["-f", str(ROOT / "benchmarks" / "ads_code_location.py")]
        )
        out["code_location"] = location[-1]
        log = (home / "dagster_dev.log").open("wb")
        t0 = time.monotonic()
        dagster = Path(sys.executable).parent / "dagster"
        proc = subprocess.Popen(
            [str(dagster), "dev", *location, "-h", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait_for_sensor_tick(f"http://127.0.0.1:{port}", proc)
        out["dagster_dev_ready_s"] = round(time.monotonic() - t0, 1)

        base = f"http://127.0.0.1:{port}"
        server.configure(today=today)

        def new_breach(trigger: Callable[[], float | None], n: int) -> float:
            """Recover (if an episode is open), then drop; seconds from load end to alert."""
            if n:
                server.restate(scenario, today, clicks=220)
                closed = _closed(url)
                trigger()
                _wait(lambda: _closed(url) > closed, "the recovery was processed")
                server.restate(scenario, today, clicks=150)
            count = len(receiver.accepted())
            end = trigger()
            if not receiver.wait_for(count + 1, timeout=600):
                raise RuntimeError(f"no alert; see {home / 'dagster_dev.log'}")
            received = receiver.accepted()[count].received_at
            end = end if end is not None else _last_load_materialization(home, received)
            return round(received - end, 2)

        def external() -> float:
            return load()

        def scheduled() -> None:
            run_id = _launch(base, "linkedin_ads_job")
            _wait(lambda: _run_finished(home, run_id), f"run {run_id} finished", timeout=900)
            return None

        results: dict[str, list[float]] = {"scheduled": [], "external": []}
        for path, trigger in (("external", external), ("scheduled", scheduled)):
            for n in range(args.repeats):
                first = not (results["external"] or results["scheduled"]) and n == 0
                results[path].append(new_breach(trigger, 0 if first else 1))
        out["load_end_to_alert_s"] = results
        out["median_s"] = {k: statistics.median(v) for k, v in results.items()}
    finally:
        if proc is not None:
            _stop_group(proc)

    from dagster import DagsterInstance, RunsFilter

    instance = DagsterInstance.from_config(str(home))
    runs = []
    for record in instance.get_run_records(RunsFilter(), ascending=True):
        runs.append(
            {
                "job": record.dagster_run.job_name,
                "created_to_started_s": round(
                    (record.start_time or 0) - record.create_timestamp.timestamp(), 2
                ),
                "run_s": round((record.end_time or 0) - (record.start_time or 0), 2),
                "status": record.dagster_run.status.value,
            }
        )
    out["kpi_runs"] = runs
    instance.dispose()

    # baseline, same run: the same drop handled without orchestration
    server.restate(scenario, today, clicks=220)
    load()
    run_dbt(["run", "--select", s.DBT_SELECT], url=url, check=True, capture=True)
    server.restate(scenario, today, clicks=150)
    before = len(receiver.accepted())
    end = load()
    run_dbt(["build", "--select", s.DBT_SELECT], url=url, check=True, capture=True)
    deliver_alerts(url, webhook_url=receiver.url, secret=SECRET, progress=lambda _m: None)
    receiver.wait_for(before + 1, timeout=60)
    out["baseline_direct_s"] = round(receiver.accepted()[-1].received_at - end, 2)
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    receiver.stop()
    server.stop()
    if not args.keep:
        with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
        import shutil

        shutil.rmtree(home, ignore_errors=True)
        for folder in (load_settings().state_dir / "dlt").glob(f"{name}-*"):
            shutil.rmtree(folder, ignore_errors=True)
    else:
        out["dagster_home"] = str(home)
        out["database"] = name
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
