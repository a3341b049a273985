"""Outbox delivery (exports/): PLE enqueue and alerts to webhook receivers on 127.0.0.1.

The PLE outbox is the dbt model's (marketing.ple_enqueue_outbox), built once for the module
from the change-detection fixtures loaded through the real loaders; each test delivers from
its own copy of that warehouse. The breaker's cool-down runs on an injected clock.

Real PostgreSQL, real HTTP, a receiver that runs as its own process where it matters
(down, then up): every row arrives exactly once by idempotency key, in order per person,
signed; a refused row is dead-lettered after N answered attempts and can be requeued; the
circuit breaker opens after 3 consecutive failures and closes after its cool-down; the
heir_orbt envelope; pg_notify to a LISTENing connection; the CLI's exit codes; the
delivery-state mart.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dagster as dg
import psycopg
import pytest

from app.dbt import run_dbt
from exports.alerts import ALERT_OUTBOX, deliver_alerts
from exports.config import ExportConfigError
from exports.outbox import (
    OutboxSpec,
    Webhook,
    circuit_breaker,
    dead_letter_ids,
    pending_count,
)
from exports.ple import PLE_OUTBOX, deliver_ple, heir_orbt
from exports.signing import SignatureError, parse, verify
from loaders.apify_linkedin.run import import_dataset
from loaders.intake.run import load_intake_files
from outreach.settings import PROJECT_ROOT
from testing.receiver import WebhookReceiver

SECRET = "whsec-exports-test-7f3a91"
FAST = {"backoff_base_s": 0.01, "backoff_max_s": 0.02, "timeout_s": 2.0}
OUTREACH = str(Path(sys.executable).parent / "outreach")
CHANGES = Path(__file__).parent / "fixtures" / "change_detection"


class Clock:
    """An injected clock (unix seconds) for the webhook: the breaker's cool-down passes
    when the test moves it on, not while the test sleeps."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _admin(url: str) -> str:
    return urlsplit(url)._replace(path="/postgres").geturl()


@pytest.fixture(scope="module")
def built_outbox(warehouse, tmp_path_factory) -> str:
    """marketing.ple_enqueue_outbox built by dbt from loaded data, once for the module: the
    change-detection fixtures (an intake file, then two monthly LinkedIn datasets) through
    the real loaders, then a dbt build of the outbox and its parents."""
    quiet = lambda _m: None  # noqa: E731
    load_intake_files(CHANGES / "companies.csv", CHANGES / "people.csv", progress=quiet)
    with psycopg.connect(warehouse) as conn:
        (loaded_at,) = conn.execute("select max(_loaded_at) from raw_intake.people").fetchone()
    dlt_dir = tmp_path_factory.mktemp("dlt")
    for name, days in (("refresh_month1.json", 1), ("refresh_month2.json", 31)):
        result = import_dataset(
            CHANGES / name,
            observed_at=(loaded_at + timedelta(days=days)).isoformat(),
            progress=quiet,
            pipelines_dir=dlt_dir,
        )
        assert result.ok
    # seeds and models only: the models' tests run in their own modules
    skip_tests = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    run_dbt(["build", "--select", "+ple_enqueue_outbox", *skip_tests], url=warehouse, capture=True)
    return warehouse


def read_outbox(url: str) -> list[tuple[str, str, dict]]:
    """(outbox_id, person, payload) of every outbox row, in send order."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select outbox_id, person_unique_id, payload from marketing.ple_enqueue_outbox"
            " order by created_at, outbox_id"
        ).fetchall()


@pytest.fixture(scope="module")
def outbox_rows(built_outbox) -> list[tuple[str, str, dict]]:
    rows = read_outbox(built_outbox)
    # what the tests below need from the model's rows: several people, one of them with
    # more than one change (order per person)
    people = [person for _oid, person, _payload in rows]
    assert len(rows) >= 6 and max(people.count(p) for p in people) >= 2, rows
    return rows


def later_of_a_person(rows: list[tuple[str, str, dict]]) -> tuple[str, list[str]]:
    """The first change of a person with several, and that person's later changes."""
    people = [person for _oid, person, _payload in rows]
    person = next(p for p in people if people.count(p) > 1)
    ids = [oid for oid, p, _ in rows if p == person]
    return ids[0], ids[1:]


@pytest.fixture
def ple_outbox(built_outbox, outbox_rows, copy_database, monkeypatch):
    """A copy of the built warehouse for one test (CREATE DATABASE ... TEMPLATE): the
    model's outbox rows, nothing delivered yet."""
    for name in (
        "PLE_WEBHOOK_URL",
        "ALERT_WEBHOOK_URL",
        "OUTREACH_PLE_ENVELOPE",
        "OUTREACH_NOTIFY_CHANNEL",
        "OUTREACH_EXPORT_MAX_ATTEMPTS",
        "OUTREACH_EXPORT_BREAKER_COOLDOWN_S",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OUTREACH_WEBHOOK_SECRET", SECRET)
    return copy_database(built_outbox)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReceiverProcess:
    """``python -m testing.receiver`` in its own process: one JSON line per request."""

    def __init__(self, tmp_path: Path, port: int, secret: str = SECRET):
        self.port, self.secret = port, secret
        self.log = tmp_path / f"receiver-{port}.jsonl"
        self.url = f"http://127.0.0.1:{port}/hook"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "OUTREACH_WEBHOOK_SECRET": self.secret}
        out = self.log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "testing.receiver", "--port", str(self.port), "--print", "all"],
            stdout=out,
            env=env,
            cwd=PROJECT_ROOT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("receiver process did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def requests(self) -> list[dict]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture
def receiver_process(tmp_path):
    proc = ReceiverProcess(tmp_path, free_port())
    yield proc
    proc.stop()


def log_rows(url: str, target: str = "ple") -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select outbox_id, attempt, status, http_status from raw_ops.deliveries"
            " where target = %s order by delivery_id",
            (target,),
        ).fetchall()


# ---------------------------------------------------------------------------- down, then up
# ---------------------------------------------------------------------------- down, then up
def test_receiver_process_down_then_up_gets_every_row_once_in_order_per_person_signed(
    ple_outbox, outbox_rows, receiver_process
):
    n, clock = len(outbox_rows), Clock()
    url = receiver_process.url
    quiet = {"progress": lambda _m: None, "webhook_url": url, "clock": clock, **FAST}
    down = deliver_ple(ple_outbox, max_attempts=2, **quiet)  # nothing listens on the port
    assert (down.delivered, down.pending_after) == (0, n)
    assert down.stopped and "unavailable" in down.stopped
    again = deliver_ple(ple_outbox, dead_letter_after=1, breaker_cooldown_s=0.3, **quiet)
    assert again.breaker_open and again.attempts == 1  # 3rd consecutive failure opens it
    # unreachable is never the row's fault: no dead letter even with a limit of 1
    assert dead_letter_ids(ple_outbox, PLE_OUTBOX) == []
    assert {r[3] for r in log_rows(ple_outbox)} == {None}

    receiver_process.start()
    in_cooldown = deliver_ple(ple_outbox, dead_letter_after=1, breaker_cooldown_s=0.3, **quiet)
    assert in_cooldown.attempts == 0 and in_cooldown.breaker_open
    clock.advance(0.35)  # the breaker's cool-down is over
    up = deliver_ple(ple_outbox, dead_letter_after=1, breaker_cooldown_s=0.3, **quiet)
    after = deliver_ple(ple_outbox, **quiet)
    receiver_process.stop()
    assert (up.delivered, up.pending_after, after.attempts) == (n, 0, 0)

    got = receiver_process.requests()
    assert all(r["status"] == 200 and r["signature_ok"] and not r["duplicate"] for r in got)
    expected = {oid: payload for oid, _p, payload in outbox_rows}
    assert sorted(r["key"] for r in got) == sorted(expected)  # each key exactly once
    assert all(r["body"] == expected[r["key"]] for r in got)
    for person in {p for _oid, p, _ in outbox_rows}:  # arrival order per person = send order
        arrived = [r["key"] for r in got if r["body"]["person_id"] == person]
        assert arrived == [oid for oid, p, _ in outbox_rows if p == person]
    first = [a for a in log_rows(ple_outbox) if a[0] == outbox_rows[0][0]]
    assert [a[2] for a in first] == ["failed", "failed", "failed", "delivered"]


def test_a_lost_log_update_resends_with_the_same_key_and_the_receiver_dedupes(
    ple_outbox, outbox_rows, receiver_process
):
    n, lost = len(outbox_rows), outbox_rows[3][0]
    receiver_process.start()
    url = receiver_process.url
    first = deliver_ple(ple_outbox, webhook_url=url, progress=lambda _m: None, **FAST)
    assert first.delivered == n
    # as if the process died between the receiver's 200 and our update of the log
    with psycopg.connect(ple_outbox, autocommit=True) as conn:
        conn.execute("delete from raw_ops.deliveries where outbox_id = %s", (lost,))
    resent = deliver_ple(ple_outbox, webhook_url=url, progress=lambda _m: None, **FAST)
    receiver_process.stop()
    assert resent.delivered_ids == [lost]
    got = receiver_process.requests()
    assert len(got) == n + 1
    assert [r["duplicate"] for r in got if r["key"] == lost] == [False, True]
    accepted = [r["key"] for r in got if not r["duplicate"]]
    assert len(accepted) == len(set(accepted)) == n


def test_signatures_verify_with_the_shared_secret_only(ple_outbox, outbox_rows):
    with WebhookReceiver(SECRET) as receiver:
        deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST)
        got = list(receiver.received)
    assert len(got) == len(outbox_rows)
    for r in got:
        header, key = r.headers["x-outreach-signature"], r.idempotency_key
        now = parse(header)[0]
        assert verify(r.raw, key, header, SECRET, now=now) == now
        with pytest.raises(SignatureError):
            verify(r.raw, key, header, SECRET + "x", now=now)
        assert r.headers["idempotency-key"] == r.body["intel_id"]


# ---------------------------------------------------------------------------- order per person
def test_a_refused_row_holds_back_the_later_rows_of_that_person_only(ple_outbox, outbox_rows):
    n = len(outbox_rows)
    blocked, later = later_of_a_person(outbox_rows)
    with WebhookReceiver(SECRET) as receiver:
        receiver.reject(blocked, 422)
        first = deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST)
    held = len(later)
    assert (first.delivered, first.failed_rows, first.held_rows) == (n - 1 - held, 1, held)
    assert not set(later) & set(first.delivered_ids)
    with WebhookReceiver(SECRET) as receiver:
        second = deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST)
        keys = [r.idempotency_key for r in receiver.accepted()]
    assert second.delivered_ids == keys == [blocked, *later]


# ---------------------------------------------------------------------------- dead letter
def test_a_row_refused_n_times_is_dead_lettered_skipped_and_requeued_on_request(
    ple_outbox, outbox_rows, monkeypatch
):
    monkeypatch.setenv("OUTREACH_EXPORT_MAX_ATTEMPTS", "3")
    poison, later = later_of_a_person(outbox_rows)
    with WebhookReceiver(SECRET) as receiver:
        receiver.reject(poison, 422)
        reports = [
            deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST)
            for _ in range(4)
        ]
        tries = [r.idempotency_key for r in receiver.received].count(poison)
    assert [r.dead_lettered for r in reports] == [0, 0, 1, 0]
    assert reports[2].dead_ids == [poison]
    assert tries == 3  # the 4th run no longer picks it
    assert reports[3].attempts == 0 and reports[3].dead_letters == 1
    assert dead_letter_ids(ple_outbox, PLE_OUTBOX) == [poison]
    assert pending_count(ple_outbox, PLE_OUTBOX) == 0
    # the person's later change was held while the poison row failed, then went out
    assert later[0] in reports[2].delivered_ids + reports[3].delivered_ids
    assert later[0] not in reports[0].delivered_ids + reports[1].delivered_ids

    with WebhookReceiver(SECRET) as receiver:  # fixed receiver; requeue by hand
        requeued = deliver_ple(
            ple_outbox,
            webhook_url=receiver.url,
            retry_dead=True,
            progress=lambda _m: None,
            **FAST,
        )
        assert [r.idempotency_key for r in receiver.accepted()] == [poison]
    assert requeued.delivered_ids == [poison] and requeued.dead_letters == 0
    assert dead_letter_ids(ple_outbox, PLE_OUTBOX) == []


def test_try_later_answers_never_dead_letter_a_row(ple_outbox, outbox_rows):
    with WebhookReceiver(SECRET) as receiver:
        receiver.fail_next(2, status=503)  # two "try later" answers, then fine
        report = deliver_ple(
            ple_outbox,
            webhook_url=receiver.url,
            dead_letter_after=1,
            progress=lambda _m: None,
            **FAST,
        )
    n = len(outbox_rows)
    assert (report.delivered, report.dead_lettered, report.attempts) == (n, 0, n + 2)


# ---------------------------------------------------------------------------- circuit breaker
def test_breaker_opens_after_3_failures_skips_in_cooldown_and_closes_after(
    ple_outbox, outbox_rows, monkeypatch
):
    monkeypatch.setenv("OUTREACH_EXPORT_BREAKER_COOLDOWN_S", "300")
    clock = Clock()
    hook = {"progress": lambda _m: None, "max_attempts": 5, "clock": clock, **FAST}
    with WebhookReceiver(SECRET, clock=clock) as receiver:  # one clock for both ends
        hook["webhook_url"] = receiver.url
        receiver.fail_next(100, status=502)
        opened = deliver_ple(ple_outbox, **hook)
        assert opened.attempts == 3 and opened.breaker_open  # not 5: the breaker stops it
        assert "circuit breaker opened" in opened.stopped
        skipped = deliver_ple(ple_outbox, **hook)
        assert skipped.attempts == 0 and "circuit breaker open" in skipped.stopped
        assert len(receiver.received) == 3  # no request while open
        state = circuit_breaker(ple_outbox, "ple", Webhook(receiver.url, SECRET, clock=clock))
        assert state.open and state.consecutive_failures == 3
        assert state.retry_after_s == pytest.approx(300, abs=0.01)

        clock.advance(299)  # still cooling down
        assert deliver_ple(ple_outbox, **hook).attempts == 0
        clock.advance(2)  # cool-down over: one probe, still failing -> open again
        probe = deliver_ple(ple_outbox, **hook)
        assert probe.attempts == 1 and probe.breaker_open
        assert deliver_ple(ple_outbox, **hook).attempts == 0

        clock.advance(301)
        receiver._fail.clear()  # the receiver recovered
        closed = deliver_ple(ple_outbox, **hook)
        assert closed.delivered == len(outbox_rows) and not closed.breaker_open
    state = circuit_breaker(ple_outbox, "ple", Webhook(receiver.url, SECRET, clock=clock))
    assert not state.open and state.consecutive_failures == 0


def test_a_row_level_rejection_does_not_count_toward_the_breaker(ple_outbox, outbox_rows):
    firsts = {}  # the first change of three different people
    for oid, person, _ in outbox_rows:
        firsts.setdefault(person, oid)
    rejected = list(firsts.values())[:3]
    with WebhookReceiver(SECRET) as receiver:
        for oid in rejected:  # three 422s in a row, three different people
            receiver.reject(oid, 422)
        report = deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST)
    blocked = {p for oid, p, _ in outbox_rows if oid in rejected}
    held = sum(1 for oid, p, _ in outbox_rows if p in blocked and oid not in rejected)
    assert not report.breaker_open and report.stopped is None
    assert (report.failed_rows, report.held_rows) == (3, held)
    assert report.delivered == len(outbox_rows) - 3 - held


# ---------------------------------------------------------------------------- envelope, notify
def test_heir_orbt_envelope_wraps_each_payload(ple_outbox, outbox_rows, monkeypatch):
    monkeypatch.setenv("OUTREACH_PLE_ENVELOPE", "heir_orbt")
    with WebhookReceiver(SECRET) as receiver:
        deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST)
        got = receiver.accepted()
    payloads = {oid: payload for oid, _p, payload in outbox_rows}
    assert len(got) == len(outbox_rows)
    for r in got:
        assert r.signature_ok
        assert r.body == {
            "tool": "ple_enqueue_lead",
            "data": payloads[r.idempotency_key],
            "unique_id": r.idempotency_key,
            "process_id": "04.04.04",
            "orbt_layer": 2,
            "blueprint_version": "1.0",
        }
    assert heir_orbt("x", '{"a": 1}') == heir_orbt("x", '{"a":1}')  # same row, same body
    monkeypatch.setenv("OUTREACH_PLE_ENVELOPE", "soap")
    with pytest.raises(ExportConfigError, match="OUTREACH_PLE_ENVELOPE"):
        deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None)


def test_pg_notify_tells_a_listening_worker_of_each_delivered_row(
    ple_outbox, outbox_rows, monkeypatch
):
    monkeypatch.setenv("OUTREACH_NOTIFY_CHANNEL", "outreach_outbox")
    n, refused = len(outbox_rows), outbox_rows[-1][0]
    with psycopg.connect(ple_outbox, autocommit=True) as listener:
        listener.execute("listen outreach_outbox")
        with WebhookReceiver(SECRET) as receiver:
            receiver.reject(refused, 422)  # refused: no notification
            report = deliver_ple(
                ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST
            )
        notes = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=n - 1)]
    assert report.delivered == n - 1
    assert [n["outbox_id"] for n in notes] == report.delivered_ids
    assert {(n["target"], n["relation"], n["http_status"]) for n in notes} == {
        ("ple", "marketing.ple_enqueue_outbox", 200)
    }
    monkeypatch.setenv("OUTREACH_NOTIFY_CHANNEL", "Bad Channel;")
    with pytest.raises(ExportConfigError, match="OUTREACH_NOTIFY_CHANNEL"):
        deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None)


# ---------------------------------------------------------------------------- alerts
# The alert outboxes below are hand-made on purpose: the test proves that every relation in
# a configurable list is delivered (one of them a relation no model builds, one missing).
def test_alerts_deliver_every_outbox_in_the_list_to_one_webhook(ple_outbox):
    with psycopg.connect(ple_outbox, autocommit=True) as conn:
        conn.execute(
            "create table marketing.kpi_alert_notifications"
            " (notification_id text, payload jsonb, created_at timestamptz)"
        )
        conn.execute(
            "create table marketing.more_test_alerts (like marketing.kpi_alert_notifications)"
        )
        conn.execute(
            "insert into marketing.kpi_alert_notifications values"
            " ('kpi_alert_opened:1', '{\"n\": 1}', now()), ('kpi_alert_opened:2', '{\"n\": 2}', now())"
        )
        conn.execute(
            "insert into marketing.more_test_alerts values ('more:1', '{\"n\": 3}', now())"
        )
    more = OutboxSpec(target="alerts", relation="marketing.more_test_alerts")
    missing = OutboxSpec(target="alerts", relation="marketing.not_built_yet")
    with WebhookReceiver(SECRET) as receiver:
        report = deliver_alerts(
            ple_outbox,
            webhook_url=receiver.url,
            outboxes=[ALERT_OUTBOX, more, missing],
            progress=lambda _m: None,
            **FAST,
        )
        keys = [r.idempotency_key for r in receiver.accepted()]
    assert keys == ["kpi_alert_opened:1", "kpi_alert_opened:2", "more:1"]
    assert report.delivered == 3 and not report.missing_relation
    assert [p.missing_relation for p in report.parts] == [False, False, True]


# ---------------------------------------------------------------------------- CLI
def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [OUTREACH, "export", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_exit_codes_summary_and_no_secret_in_the_output(ple_outbox, outbox_rows, tmp_path):
    base = {"OUTREACH_DATABASE_URL": ple_outbox, "OUTREACH_WEBHOOK_SECRET": SECRET}
    no_url = run_cli(["ple"], base)
    assert no_url.returncode == 2 and "PLE_WEBHOOK_URL is not set" in no_url.stderr

    port = free_port()
    hook = f"http://user:pw-in-url@127.0.0.1:{port}/hook?token=tok-in-url"
    env = {**base, "PLE_WEBHOOK_URL": hook, "OUTREACH_EXPORT_BREAKER_COOLDOWN_S": "0"}
    no_secret = run_cli(["ple"], {**env, "OUTREACH_WEBHOOK_SECRET": ""})
    assert no_secret.returncode == 2 and "OUTREACH_WEBHOOK_SECRET" in no_secret.stderr

    down = run_cli(["ple"], env)
    assert down.returncode == 3, down.stdout + down.stderr
    assert f"{len(outbox_rows)} pending" in down.stdout

    with WebhookReceiver(SECRET, port=port) as receiver:
        receiver.reject(outbox_rows[-1][0], 422)
        partial = run_cli(["ple"], env)
        assert partial.returncode == 4, partial.stdout + partial.stderr
        up = run_cli(["ple", "--json"], {**env, "OUTREACH_EXPORT_MAX_ATTEMPTS": "2"})
    assert up.returncode == 4  # the last row refused again: now in the dead letter
    summary = json.loads(up.stdout)
    assert (summary["dead_lettered"], summary["dead_letters"]) == (1, 1)
    assert "--retry-dead" in up.stderr
    with WebhookReceiver(SECRET, port=port):
        done = run_cli(["ple", "--retry-dead"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 delivered" in done.stdout and "0 pending" in done.stdout
    for result in (no_url, no_secret, down, partial, up, done):
        text = result.stdout + result.stderr
        assert SECRET not in text and "pw-in-url" not in text and "tok-in-url" not in text

    missing = run_cli(["alerts"], {**base, "ALERT_WEBHOOK_URL": hook})
    assert missing.returncode == 1 and "does not exist yet" in missing.stderr


# ---------------------------------------------------------------------------- the mart
@pytest.mark.slow
def test_delivery_state_mart_shows_every_outbox_row(ple_outbox, outbox_rows):
    n = len(outbox_rows)
    refused, delivered = outbox_rows[2][0], outbox_rows[0][0]
    # the alert outboxes stand in for their models (they need the Ads and ops loads);
    # the PLE outbox is the model's
    with psycopg.connect(ple_outbox, autocommit=True) as conn:
        conn.execute(
            "create table marketing.kpi_alert_notifications"
            " (notification_id text, payload jsonb, created_at timestamptz)"
        )
        conn.execute(
            "insert into marketing.kpi_alert_notifications values ('kpi_alert_opened:1', '{}', now())"
        )
        conn.execute(
            "create table marketing.ops_alert_notifications"
            " (notification_id text, payload jsonb, created_at timestamptz)"
        )
    with WebhookReceiver(SECRET) as receiver:
        receiver.reject(refused, 422)
        deliver_ple(
            ple_outbox,
            webhook_url=receiver.url,
            dead_letter_after=1,
            progress=lambda _m: None,
            **FAST,
        )
    held = sum(1 for oid, p, _ in outbox_rows[3:] if p == outbox_rows[2][1])
    run_dbt(
        [
            "run",
            "--select",
            "stg_ops__deliveries stg_ops__delivery_dead_letters outbox_delivery_state",
        ],
        url=ple_outbox,
        capture=True,
    )
    with psycopg.connect(ple_outbox) as conn:
        state = {
            (r[0], r[1]): r[2:]
            for r in conn.execute(
                "select target, outbox_id, state, attempts, last_http_status,"
                " delivered_at is not null, dead_lettered_at is not null"
                " from marketing.outbox_delivery_state"
            ).fetchall()
        }
    assert len(state) == n + 1
    assert state[("ple", refused)] == ("dead_letter", 1, 422, False, True)
    assert state[("ple", delivered)] == ("delivered", 1, 200, True, False)
    assert state[("alerts", "kpi_alert_opened:1")] == ("pending", 0, None, False, False)
    states = [v[0] for v in state.values()]
    assert states.count("delivered") == n - 1 - held


# ---------------------------------------------------------------------------- Dagster
def test_dagster_ple_step_delivers_and_fails_for_retry_while_the_receiver_is_down(
    ple_outbox, outbox_rows, monkeypatch
):
    from orchestration.assets.exports import ple_enqueue_webhook
    from orchestration.resources import WarehouseResource

    n = len(outbox_rows)
    resources = {"warehouse": WarehouseResource(database_url=ple_outbox)}
    monkeypatch.setenv("OUTREACH_EXPORT_BREAKER_COOLDOWN_S", "0")  # the down run opens it
    monkeypatch.setenv("PLE_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/hook")
    # called directly: dg.materialize would run the asset's retry policy (minutes apart)
    with pytest.raises(dg.Failure, match=f"{n} pending"):  # rows stay pending; retried later
        ple_enqueue_webhook(
            context=dg.build_asset_context(), warehouse=WarehouseResource(database_url=ple_outbox)
        )
    with WebhookReceiver(SECRET) as receiver:
        monkeypatch.setenv("PLE_WEBHOOK_URL", receiver.url)
        up = dg.materialize([ple_enqueue_webhook], resources=resources)
        assert len(receiver.accepted()) == n
    [mat] = up.asset_materializations_for_node("exports__ple_enqueue_webhook")
    assert mat.metadata["delivered"].value == n and mat.metadata["pending"].value == 0
    assert mat.metadata["breaker_open"].value is False
