"""Outbox delivery (exports/): PLE enqueue and alerts to webhook receivers on 127.0.0.1.

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
from pathlib import Path

import dagster as dg
import psycopg
import pytest

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
from exports.receiver import WebhookReceiver
from exports.signing import SignatureError, parse, verify
from outreach.settings import PROJECT_ROOT

SECRET = "whsec-exports-test-7f3a91"
FAST = {"backoff_base_s": 0.01, "backoff_max_s": 0.02, "timeout_s": 2.0}
PEOPLE = ["04.04.02.25.00001.001", "04.04.02.25.00002.002", "04.04.02.25.00003.003"]
OUTREACH = str(Path(sys.executable).parent / "outreach")


def intel_id(n: int) -> str:
    return f"04.04.04.25.{n:05d}.{n % 1000:03d}"


def ple_rows() -> list[tuple[str, str, dict]]:
    """9 changes of 3 people, interleaved, each person's in detection order."""
    rows = []
    for n in range(9):
        person = PEOPLE[n % 3]
        payload = {
            "person_id": person,
            "company_id": "04.04.01.25.00001.001",
            "change_type": ["promotion", "job_change", "left_company"][n // 3],
            "source": "linkedin",
            "intel_id": intel_id(n + 1),
            "priority": "high",
            "matched_company_id": None,
        }
        rows.append((intel_id(n + 1), person, payload))
    return rows


@pytest.fixture
def ple_outbox(fresh_warehouse, monkeypatch, ple_outbox_table):
    """marketing.ple_enqueue_outbox as the dbt model publishes it (columns), 9 rows."""
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
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        ple_outbox_table(conn)
        for n, (oid, person, payload) in enumerate(ple_rows()):
            conn.execute(
                "insert into marketing.ple_enqueue_outbox values (%s, %s, %s, %s, 'high', %s,"
                " timestamptz '2026-01-01 00:00:00+00' + %s * interval '1 minute')",
                (
                    oid,
                    person,
                    payload["company_id"],
                    payload["change_type"],
                    json.dumps(payload),
                    n,
                ),
            )
    return fresh_warehouse


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReceiverProcess:
    """``python -m exports.receiver`` in its own process: one JSON line per request."""

    def __init__(self, tmp_path: Path, port: int, secret: str = SECRET):
        self.port, self.secret = port, secret
        self.log = tmp_path / f"receiver-{port}.jsonl"
        self.url = f"http://127.0.0.1:{port}/hook"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "OUTREACH_WEBHOOK_SECRET": self.secret}
        out = self.log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "exports.receiver", "--port", str(self.port), "--print", "all"],
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
def test_receiver_process_down_then_up_gets_every_row_once_in_order_per_person_signed(
    ple_outbox, receiver_process
):
    url = receiver_process.url
    quiet = {"progress": lambda _m: None, "webhook_url": url, **FAST}
    down = deliver_ple(ple_outbox, max_attempts=2, **quiet)  # nothing listens on the port
    assert (down.delivered, down.pending_after) == (0, 9)
    assert down.stopped and "unavailable" in down.stopped
    again = deliver_ple(ple_outbox, dead_letter_after=1, breaker_cooldown_s=0.3, **quiet)
    assert again.breaker_open and again.attempts == 1  # 3rd consecutive failure opens it
    # unreachable is never the row's fault: no dead letter even with a limit of 1
    assert dead_letter_ids(ple_outbox, PLE_OUTBOX) == []
    assert {r[3] for r in log_rows(ple_outbox)} == {None}

    receiver_process.start()
    time.sleep(0.35)  # the breaker's cool-down
    up = deliver_ple(ple_outbox, dead_letter_after=1, breaker_cooldown_s=0.3, **quiet)
    after = deliver_ple(ple_outbox, **quiet)
    receiver_process.stop()
    assert (up.delivered, up.pending_after, after.attempts) == (9, 0, 0)

    got = receiver_process.requests()
    assert all(r["status"] == 200 and r["signature_ok"] and not r["duplicate"] for r in got)
    expected = {oid: payload for oid, _p, payload in ple_rows()}
    assert sorted(r["key"] for r in got) == sorted(expected)  # each key exactly once
    assert all(r["body"] == expected[r["key"]] for r in got)
    for person in PEOPLE:  # arrival order per person = detection order
        arrived = [r["key"] for r in got if r["body"]["person_id"] == person]
        assert arrived == [oid for oid, p, _ in ple_rows() if p == person]
    first = [a for a in log_rows(ple_outbox) if a[0] == intel_id(1)]
    assert [a[2] for a in first] == ["failed", "failed", "failed", "delivered"]


def test_a_lost_log_update_resends_with_the_same_key_and_the_receiver_dedupes(
    ple_outbox, receiver_process
):
    receiver_process.start()
    url = receiver_process.url
    first = deliver_ple(ple_outbox, webhook_url=url, progress=lambda _m: None, **FAST)
    assert first.delivered == 9
    # as if the process died between the receiver's 200 and our update of the log
    with psycopg.connect(ple_outbox, autocommit=True) as conn:
        conn.execute("delete from raw_ops.deliveries where outbox_id = %s", (intel_id(4),))
    resent = deliver_ple(ple_outbox, webhook_url=url, progress=lambda _m: None, **FAST)
    receiver_process.stop()
    assert resent.delivered_ids == [intel_id(4)]
    got = receiver_process.requests()
    assert len(got) == 10
    assert [r["duplicate"] for r in got if r["key"] == intel_id(4)] == [False, True]
    accepted = [r["key"] for r in got if not r["duplicate"]]
    assert len(accepted) == len(set(accepted)) == 9


def test_signatures_verify_with_the_shared_secret_only(ple_outbox):
    with WebhookReceiver(SECRET) as receiver:
        deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST)
        got = list(receiver.received)
    assert len(got) == 9
    for r in got:
        header, key = r.headers["x-outreach-signature"], r.idempotency_key
        now = parse(header)[0]
        assert verify(r.raw, key, header, SECRET, now=now) == now
        with pytest.raises(SignatureError):
            verify(r.raw, key, header, SECRET + "x", now=now)
        assert r.headers["idempotency-key"] == r.body["intel_id"]


# ---------------------------------------------------------------------------- order per person
def test_a_refused_row_holds_back_the_later_rows_of_that_person_only(ple_outbox):
    blocked = intel_id(1)  # the first change of PEOPLE[0]; intel 4 and 7 are theirs too
    with WebhookReceiver(SECRET) as receiver:
        receiver.reject(blocked, 422)
        first = deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST)
    assert (first.delivered, first.failed_rows, first.held_rows) == (6, 1, 2)
    assert intel_id(4) not in first.delivered_ids and intel_id(7) not in first.delivered_ids
    with WebhookReceiver(SECRET) as receiver:
        second = deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST)
        keys = [r.idempotency_key for r in receiver.accepted()]
    assert second.delivered_ids == keys == [intel_id(1), intel_id(4), intel_id(7)]


# ---------------------------------------------------------------------------- dead letter
def test_a_row_refused_n_times_is_dead_lettered_skipped_and_requeued_on_request(
    ple_outbox, monkeypatch
):
    monkeypatch.setenv("OUTREACH_EXPORT_MAX_ATTEMPTS", "3")
    poison = intel_id(2)
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
    # the person's later change (intel 5) was held while intel 2 failed, then went out
    assert intel_id(5) in reports[2].delivered_ids + reports[3].delivered_ids

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


def test_try_later_answers_never_dead_letter_a_row(ple_outbox):
    with WebhookReceiver(SECRET) as receiver:
        receiver.fail_next(2, status=503)  # two "try later" answers, then fine
        report = deliver_ple(
            ple_outbox,
            webhook_url=receiver.url,
            dead_letter_after=1,
            progress=lambda _m: None,
            **FAST,
        )
    assert (report.delivered, report.dead_lettered, report.attempts) == (9, 0, 11)


# ---------------------------------------------------------------------------- circuit breaker
def test_breaker_opens_after_3_failures_skips_in_cooldown_and_closes_after(ple_outbox, monkeypatch):
    monkeypatch.setenv("OUTREACH_EXPORT_BREAKER_COOLDOWN_S", "1")
    hook = {"progress": lambda _m: None, "max_attempts": 5, **FAST}
    with WebhookReceiver(SECRET) as receiver:
        hook["webhook_url"] = receiver.url
        receiver.fail_next(100, status=502)
        opened = deliver_ple(ple_outbox, **hook)
        assert opened.attempts == 3 and opened.breaker_open  # not 5: the breaker stops it
        assert "circuit breaker opened" in opened.stopped
        skipped = deliver_ple(ple_outbox, **hook)
        assert skipped.attempts == 0 and "circuit breaker open" in skipped.stopped
        assert len(receiver.received) == 3  # no request while open
        state = circuit_breaker(ple_outbox, "ple", Webhook(receiver.url, SECRET))
        assert state.open and state.consecutive_failures == 3

        time.sleep(1.1)  # cool-down over: one probe, still failing -> open again
        probe = deliver_ple(ple_outbox, **hook)
        assert probe.attempts == 1 and probe.breaker_open
        assert deliver_ple(ple_outbox, **hook).attempts == 0

        time.sleep(1.1)
        receiver._fail.clear()  # the receiver recovered
        closed = deliver_ple(ple_outbox, **hook)
        assert closed.delivered == 9 and not closed.breaker_open
    state = circuit_breaker(ple_outbox, "ple", Webhook(receiver.url, SECRET))
    assert not state.open and state.consecutive_failures == 0


def test_a_row_level_rejection_does_not_count_toward_the_breaker(ple_outbox):
    with WebhookReceiver(SECRET) as receiver:
        for n in (1, 2, 3):  # three different people, three 422s in a row
            receiver.reject(intel_id(n), 422)
        report = deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST)
    assert not report.breaker_open and report.stopped is None
    assert (report.failed_rows, report.held_rows, report.delivered) == (3, 6, 0)


# ---------------------------------------------------------------------------- envelope, notify
def test_heir_orbt_envelope_wraps_each_payload(ple_outbox, monkeypatch):
    monkeypatch.setenv("OUTREACH_PLE_ENVELOPE", "heir_orbt")
    with WebhookReceiver(SECRET) as receiver:
        deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST)
        got = receiver.accepted()
    payloads = {oid: payload for oid, _p, payload in ple_rows()}
    assert len(got) == 9
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


def test_pg_notify_tells_a_listening_worker_of_each_delivered_row(ple_outbox, monkeypatch):
    monkeypatch.setenv("OUTREACH_NOTIFY_CHANNEL", "outreach_outbox")
    with psycopg.connect(ple_outbox, autocommit=True) as listener:
        listener.execute("listen outreach_outbox")
        with WebhookReceiver(SECRET) as receiver:
            receiver.reject(intel_id(9), 422)  # refused: no notification
            report = deliver_ple(
                ple_outbox, webhook_url=receiver.url, progress=lambda _m: None, **FAST
            )
        notes = [json.loads(n.payload) for n in listener.notifies(timeout=5, stop_after=8)]
    assert report.delivered == 8
    assert [n["outbox_id"] for n in notes] == report.delivered_ids
    assert {(n["target"], n["relation"], n["http_status"]) for n in notes} == {
        ("ple", "marketing.ple_enqueue_outbox", 200)
    }
    monkeypatch.setenv("OUTREACH_NOTIFY_CHANNEL", "Bad Channel;")
    with pytest.raises(ExportConfigError, match="OUTREACH_NOTIFY_CHANNEL"):
        deliver_ple(ple_outbox, webhook_url=receiver.url, progress=lambda _m: None)


# ---------------------------------------------------------------------------- alerts
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


def test_cli_exit_codes_summary_and_no_secret_in_the_output(ple_outbox, tmp_path):
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
    assert "9 pending" in down.stdout

    with WebhookReceiver(SECRET, port=port) as receiver:
        receiver.reject(intel_id(9), 422)
        partial = run_cli(["ple"], env)
        assert partial.returncode == 4, partial.stdout + partial.stderr
        up = run_cli(["ple", "--json"], {**env, "OUTREACH_EXPORT_MAX_ATTEMPTS": "2"})
    assert up.returncode == 4  # intel 9 refused again: now in the dead letter
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
def test_delivery_state_mart_shows_every_outbox_row(ple_outbox):
    from outreach.dbt import run_dbt

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
        receiver.reject(intel_id(3), 422)
        deliver_ple(
            ple_outbox,
            webhook_url=receiver.url,
            dead_letter_after=1,
            progress=lambda _m: None,
            **FAST,
        )
    # only the log's staging and the mart: the outboxes above stand in for their models
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
    assert len(state) == 10
    assert state[("ple", intel_id(3))] == ("dead_letter", 1, 422, False, True)
    assert state[("ple", intel_id(1))] == ("delivered", 1, 200, True, False)
    assert state[("alerts", "kpi_alert_opened:1")] == ("pending", 0, None, False, False)
    states = [v[0] for v in state.values()]
    assert states.count("delivered") == 8


# ---------------------------------------------------------------------------- Dagster
def test_dagster_ple_step_delivers_and_fails_for_retry_while_the_receiver_is_down(
    ple_outbox, monkeypatch
):
    from orchestration.assets.exports import ple_enqueue_webhook
    from orchestration.resources import WarehouseResource

    resources = {"warehouse": WarehouseResource(database_url=ple_outbox)}
    monkeypatch.setenv("OUTREACH_EXPORT_BREAKER_COOLDOWN_S", "0")  # the down run opens it
    monkeypatch.setenv("PLE_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/hook")
    # called directly: dg.materialize would run the asset's retry policy (minutes apart)
    with pytest.raises(dg.Failure, match="9 pending"):  # rows stay pending; retried later
        ple_enqueue_webhook(
            context=dg.build_asset_context(), warehouse=WarehouseResource(database_url=ple_outbox)
        )
    with WebhookReceiver(SECRET) as receiver:
        monkeypatch.setenv("PLE_WEBHOOK_URL", receiver.url)
        up = dg.materialize([ple_enqueue_webhook], resources=resources)
        assert len(receiver.accepted()) == 9
    [mat] = up.asset_materializations_for_node("exports__ple_enqueue_webhook")
    assert mat.metadata["delivered"].value == 9 and mat.metadata["pending"].value == 0
    assert mat.metadata["breaker_open"].value is False
