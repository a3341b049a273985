"""exports.outbox: outbox rows -> a webhook receiver on 127.0.0.1 (real HTTP, real
PostgreSQL): signed, with an idempotency key, each row once, nothing lost while the
receiver is down, every attempt in raw_ops.deliveries."""

from __future__ import annotations

import threading

import psycopg
import pytest

from exports.alerts import ALERT_OUTBOX, AlertConfigError, deliver_alerts
from exports.outbox import OutboxSpec, Webhook, deliver, pending_count
from exports.signing import SignatureError, sign, verify
from testing.receiver import WebhookReceiver

SECRET = "whsec-test-5b2e"
SPEC = OutboxSpec(target="test_alerts", relation="outbox_test.notifications")
FAST = {"backoff_base_s": 0.01, "backoff_max_s": 0.02, "timeout_s": 2.0}


@pytest.fixture
def outbox(fresh_warehouse):
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        conn.execute("create schema outbox_test")
        conn.execute(
            "create table outbox_test.notifications "
            "(notification_id text primary key, payload jsonb, created_at timestamptz)"
        )
        for i in range(3):
            conn.execute(
                "insert into outbox_test.notifications values (%s, %s, now() + %s * interval '1 s')",
                (f"n{i}", f'{{"n": {i}, "message": "alert {i}"}}', i),
            )
    return fresh_warehouse


def attempts(url, target=SPEC.target):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select outbox_id, attempt, status, http_status from raw_ops.deliveries "
            "where target = %s order by delivery_id",
            (target,),
        ).fetchall()


def test_signature_verifies_only_with_the_secret_and_the_exact_body():
    body, now = b'{"a": 1}', 1_767_225_600
    header = sign(body, "k", SECRET, timestamp=now)
    assert verify(body, "k", header, SECRET, now=now) == now
    for args in ((body + b" ", "k", header, SECRET), (body, "k", header, "other"),
                 (body, "k", None, SECRET)):  # fmt: skip
        with pytest.raises(SignatureError):
            verify(*args, now=now)


def test_each_row_is_delivered_once_in_order_signed_with_its_idempotency_key(outbox):
    with WebhookReceiver(SECRET) as receiver:
        first = deliver(outbox, SPEC, Webhook(receiver.url, SECRET, **FAST))
        second = deliver(outbox, SPEC, Webhook(receiver.url, SECRET, **FAST))
        got = list(receiver.received)
    assert (first.delivered, first.pending_after, second.pending_before) == (3, 0, 0)
    assert second.attempts == 0
    assert [r.idempotency_key for r in got] == ["n0", "n1", "n2"]
    assert all(r.signature_ok and not r.duplicate for r in got)
    assert [r.body["n"] for r in got] == [0, 1, 2]
    assert attempts(outbox) == [(f"n{i}", 1, "delivered", 200) for i in range(3)]
    assert pending_count(outbox, SPEC) == 0


def test_receiver_down_then_up_loses_nothing_and_sends_nothing_twice(outbox):
    receiver = WebhookReceiver(SECRET)
    receiver.start()
    url = receiver.url
    receiver.stop()  # down: connection refused on that port
    down = deliver(outbox, SPEC, Webhook(url, SECRET, max_attempts=2, **FAST))
    assert down.delivered == 0 and down.pending_after == 3
    assert down.stopped and "unavailable" in down.stopped
    assert [a[2] for a in attempts(outbox)] == ["failed", "failed"]  # first row, 2 attempts
    receiver.start()  # up again, same port
    try:
        up = deliver(outbox, SPEC, Webhook(url, SECRET, **FAST))
        again = deliver(outbox, SPEC, Webhook(url, SECRET, **FAST))
    finally:
        receiver.stop()
    assert up.delivered == 3 and again.attempts == 0
    assert [r.idempotency_key for r in receiver.received] == ["n0", "n1", "n2"]
    assert [a[1:3] for a in attempts(outbox) if a[0] == "n0"] == [
        (1, "failed"),
        (2, "failed"),
        (3, "delivered"),
    ]


def test_a_5xx_is_retried_in_the_run_and_a_4xx_row_waits_for_the_next_run(outbox):
    with WebhookReceiver(SECRET) as receiver:
        receiver.fail_next(1, status=503)
        retried = deliver(outbox, SPEC, Webhook(receiver.url, SECRET, **FAST))
        assert retried.delivered == 3 and retried.attempts == 4
    with psycopg.connect(outbox, autocommit=True) as conn:
        conn.execute(
            "insert into outbox_test.notifications values ('n3', '{}', now() + interval '1 h')"
        )
        conn.execute(
            "insert into outbox_test.notifications values ('n4', '{}', now() + interval '2 h')"
        )
    with WebhookReceiver(SECRET) as receiver:
        receiver.fail_next(1, status=422)
        partial = deliver(outbox, SPEC, Webhook(receiver.url, SECRET, **FAST))
        assert (partial.delivered, partial.failed_rows, partial.stopped) == (1, 1, None)
        later = deliver(outbox, SPEC, Webhook(receiver.url, SECRET, **FAST))
        assert later.delivered == 1 and pending_count(outbox, SPEC) == 0


def test_two_deliverers_at_once_send_each_row_once(outbox):
    with WebhookReceiver(SECRET) as receiver:
        reports = []
        threads = [
            threading.Thread(
                target=lambda: reports.append(deliver(outbox, SPEC, Webhook(receiver.url, SECRET)))
            )
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        keys = [r.idempotency_key for r in receiver.received]
    assert sorted(keys) == ["n0", "n1", "n2"]  # not one request more
    assert sorted(r.delivered for r in reports) == [0, 3]


def test_the_secret_is_never_stored_and_a_wrong_secret_is_refused(outbox):
    with WebhookReceiver("receiver-secret") as receiver:
        report = deliver(outbox, SPEC, Webhook(receiver.url, SECRET, **FAST))
    assert report.delivered == 0 and report.failed_rows == 3  # 401 from the receiver
    assert {a[3] for a in attempts(outbox)} == {401}
    assert SECRET not in repr(Webhook(receiver.url, SECRET))
    with psycopg.connect(outbox) as conn:
        dump = str(conn.execute("select d::text from raw_ops.deliveries as d").fetchall())
    assert SECRET not in dump


def test_alerts_wait_in_the_outbox_without_a_webhook_url_and_need_the_secret(
    fresh_warehouse, monkeypatch
):
    monkeypatch.delenv("ALERT_WEBHOOK_URL", raising=False)
    report = deliver_alerts(fresh_warehouse, progress=lambda _m: None)
    assert report.missing_relation and report.delivered == 0  # models not built yet
    monkeypatch.setenv("ALERT_WEBHOOK_URL", "http://127.0.0.1:9/hook")
    monkeypatch.delenv("OUTREACH_WEBHOOK_SECRET", raising=False)
    with pytest.raises(AlertConfigError, match="OUTREACH_WEBHOOK_SECRET"):
        deliver_alerts(fresh_warehouse, progress=lambda _m: None)
    assert ALERT_OUTBOX.relation == "marketing.kpi_alert_notifications"
