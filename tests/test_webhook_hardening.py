"""Outbound webhooks: signed with time and key, and bounded in time (issue 15, items 3 and 5).

Real PostgreSQL, real HTTP on 127.0.0.1, the alert and PLE export paths (exports/alerts.py,
exports/ple.py -> exports.config.run_export -> exports.outbox.deliver). Clocks are
injected; the delivery deadline is real time, kept small.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import psycopg
import pytest

from exports.alerts import deliver_alerts
from exports.outbox import OutboxSpec, pending_count
from exports.ple import PLE_OUTBOX, deliver_ple
from exports.signing import SIGNATURE_HEADER, SignatureError, parse, sign, verify
from testing.receiver import WebhookReceiver

SECRET = "whsec-hardening-3c9d"
SPEC = OutboxSpec(target="alerts", relation="outbox_test.notifications")
T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC: the injected clocks start here
FAST = {"backoff_base_s": 0.0, "backoff_max_s": 0.0, "timeout_s": 5.0}


def quiet(_message: str) -> None:
    pass


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def outbox(fresh_warehouse):
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        conn.execute("create schema outbox_test")
        conn.execute(
            "create table outbox_test.notifications "
            "(notification_id text primary key, payload jsonb, created_at timestamptz)"
        )
        conn.execute(
            "insert into outbox_test.notifications values ('n1', '{\"message\": \"hi\"}', now())"
        )
    return fresh_warehouse


# ------------------------------------------------------------------------------ the scheme
def test_the_signature_covers_timestamp_key_and_body():
    body = b'{"a": 1}'
    header = sign(body, "key-1", SECRET, timestamp=T0)
    assert verify(body, "key-1", header, SECRET, now=T0) == int(T0)
    for changed in (
        (body + b" ", "key-1", header, SECRET),
        (body, "key-2", header, SECRET),
        (body, "key-1", header.replace(f"t={int(T0)}", f"t={int(T0) + 1}"), SECRET),
        (body, "key-1", header, SECRET + "x"),
        (body, "key-1", None, SECRET),
        (body, None, header, SECRET),
    ):
        with pytest.raises(SignatureError):
            verify(*changed, now=T0)


def test_a_timestamp_outside_the_tolerance_is_rejected_either_way():
    body = b"{}"
    header = sign(body, "k", SECRET, timestamp=T0)
    assert verify(body, "k", header, SECRET, now=T0 + 300) == int(T0)
    with pytest.raises(SignatureError, match="outside the tolerance of 300 s"):
        verify(body, "k", header, SECRET, now=T0 + 301)
    with pytest.raises(SignatureError, match="outside the tolerance"):
        verify(body, "k", header, SECRET, now=T0 - 301)
    assert verify(body, "k", header, SECRET, now=T0 + 3000, tolerance_s=3600) == int(T0)


def test_any_v1_may_match_so_secrets_can_rotate():
    body = b"{}"
    old = sign(body, "k", "old-secret", timestamp=T0)
    new = sign(body, "k", SECRET, timestamp=T0)
    both = f"{new},v1={parse(old)[1][0]}"
    assert verify(body, "k", both, "old-secret", now=T0) == int(T0)
    assert verify(body, "k", both, SECRET, now=T0) == int(T0)


# ------------------------------------------------------------------ through the receiver
def replay(url: str, request, **headers: str) -> httpx.Response:
    sent = {
        "Content-Type": "application/json",
        "Idempotency-Key": request.idempotency_key,
        SIGNATURE_HEADER: request.headers[SIGNATURE_HEADER.lower()],
        **headers,
    }
    return httpx.post(url, content=request.raw, headers=sent, timeout=5)


def test_replays_under_another_key_or_after_the_tolerance_are_rejected(outbox):
    receiver_clock = Clock(T0 + 10)  # the receiver's clock runs 10 s ahead: within tolerance
    with WebhookReceiver(SECRET, clock=receiver_clock) as receiver:
        report = deliver_alerts(
            outbox,
            webhook_url=receiver.url,
            secret=SECRET,
            outboxes=[SPEC],
            progress=quiet,
            clock=Clock(T0),
            **FAST,
        )
        assert report.delivered == 1
        [first] = receiver.accepted()
        assert parse(first.headers[SIGNATURE_HEADER.lower()])[0] == int(T0)

        other_key = replay(receiver.url, first, **{"Idempotency-Key": "n1-replayed"})
        assert other_key.status_code == 401
        assert "does not match" in other_key.json()["error"]

        same_key = replay(receiver.url, first)  # a resend within the tolerance: deduped
        assert (same_key.status_code, same_key.json()["duplicate"]) == (200, True)

        receiver_clock.now = T0 + 301
        stale = replay(receiver.url, first)
        assert stale.status_code == 401
        assert "outside the tolerance" in stale.json()["error"]
    assert [r.idempotency_key for r in receiver.accepted()] == ["n1"]


def test_the_ple_path_signs_each_attempt_at_its_own_time(fresh_warehouse):
    with psycopg.connect(fresh_warehouse, autocommit=True) as conn:
        conn.execute("create schema marketing")
        conn.execute(
            "create table marketing.ple_enqueue_outbox (outbox_id text primary key, payload jsonb,"
            " created_at timestamptz, person_unique_id text)"
        )
        conn.execute("insert into marketing.ple_enqueue_outbox values ('i1', '{}', now(), 'p1')")
    clock = Clock(T0 + 3600)
    with WebhookReceiver(SECRET, clock=clock) as receiver:
        receiver.fail_next(1, 503)
        report = deliver_ple(
            fresh_warehouse, webhook_url=receiver.url, secret=SECRET, progress=quiet,
            clock=lambda: clock.now - 1, **FAST,
        )  # fmt: skip
    assert report.delivered == 1 and report.attempts == 2
    stamps = [parse(r.headers[SIGNATURE_HEADER.lower()])[0] for r in receiver.received]
    assert stamps == [int(T0 + 3599)] * 2
    assert all(r.rejected is None for r in receiver.received)
    assert PLE_OUTBOX.target == "ple"


# ------------------------------------------------------------------------------ deadline
class Trickler:
    """A receiver on 127.0.0.1 that answers one byte every ``interval_s`` seconds (a
    200 that would take ``len(answer) * interval_s`` to arrive)."""

    def __init__(self, interval_s: float = 0.5):
        self.interval_s = interval_s
        self.stop = threading.Event()
        self.requests = 0
        trickler = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                trickler.requests += 1
                body = b'{"ok": true, "padding": "' + b"x" * 200 + b'"}'
                answer = (
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )
                for i in range(len(answer)):
                    if trickler.stop.wait(trickler.interval_s):
                        return
                    try:
                        self.wfile.write(answer[i : i + 1])
                        self.wfile.flush()
                    except OSError:  # the client gave up
                        return

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Trickler:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_trickling_receiver_cannot_hold_an_attempt_past_its_deadline(outbox):
    deadline = 1.0
    with Trickler() as trickler:
        report = deliver_alerts(
            outbox,
            webhook_url=trickler.url,
            secret=SECRET,
            outboxes=[SPEC],
            progress=quiet,
            deadline_s=deadline,
            max_attempts=2,
            **FAST,  # timeout_s=5: each read of a byte every 0.5 s is well within it
        )
        assert trickler.requests == 2
    # each attempt ended at its deadline (the whole answer would take > 100 s)
    assert report.delivered == 0 and report.attempts == 2
    assert report.seconds < 2 * deadline + 5
    with psycopg.connect(outbox, autocommit=True) as conn:
        rows = conn.execute(
            "select status, http_status, latency_ms, error from raw_ops.deliveries"
            " where target = %s order by delivery_id",
            (SPEC.target,),
        ).fetchall()
        # the target's lock is free for the next run
        free = conn.execute(
            "select pg_try_advisory_lock(hashtext(%s))", (f"outreach outbox {SPEC.target}",)
        ).fetchone()[0]
        assert free
        conn.execute("select pg_advisory_unlock(hashtext(%s))", (f"outreach outbox {SPEC.target}",))
    assert [r[:2] for r in rows] == [("failed", None)] * 2  # nothing left at 'sending'
    assert all(deadline * 1000 <= r[2] < deadline * 1000 + 2000 for r in rows)
    assert all("deadline of 1 s" in r[3] for r in rows)
    assert pending_count(outbox, SPEC) == 1  # still pending: the next run tries again
    assert "receiver unavailable" in (report.stopped or "")


def test_the_deadline_comes_from_the_environment(outbox, monkeypatch):
    monkeypatch.setenv("OUTREACH_EXPORT_DEADLINE_S", "0.5")
    with Trickler() as trickler:
        report = deliver_alerts(
            outbox, webhook_url=trickler.url, secret=SECRET, outboxes=[SPEC], progress=quiet,
            max_attempts=1, **FAST,
        )  # fmt: skip
    assert report.attempts == 1 and report.delivered == 0
    with psycopg.connect(outbox) as conn:
        error = conn.execute("select error from raw_ops.deliveries").fetchone()[0]
    assert "deadline of 0.5 s" in error
    monkeypatch.setenv("OUTREACH_EXPORT_DEADLINE_S", "soon")
    with pytest.raises(Exception, match="OUTREACH_EXPORT_DEADLINE_S='soon' is not a float"):
        deliver_alerts(outbox, webhook_url=trickler.url, secret=SECRET, outboxes=[SPEC])


def test_a_port_with_nothing_listening_still_fails_fast(outbox):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = deliver_alerts(
        outbox, webhook_url=f"http://127.0.0.1:{port}/hook", secret=SECRET, outboxes=[SPEC],
        progress=quiet, max_attempts=1, **FAST,
    )  # fmt: skip
    assert report.delivered == 0 and pending_count(outbox, SPEC) == 1
    with psycopg.connect(outbox) as conn:
        error = conn.execute("select error from raw_ops.deliveries").fetchone()[0]
    assert error.startswith("ConnectError")
