"""Email and booking events: the ``outreach serve`` receiver over real HTTP on 127.0.0.1 (in
a thread with an injected clock, and as its own process for the kill -9 test) and the file
backfill. Payloads follow the providers' published examples: SendGrid's Event Webhook
reference (event objects with sg_event_id, sg_message_id, custom args at the top level),
Amazon SES's "Examples of event data that Amazon SES publishes to Amazon SNS", Calendly's
v2 webhook payload (invitee.created / invitee.canceled).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from loaders.email_events import signatures
from loaders.email_events.receiver import Receiver
from loaders.email_events.run import load_events_file
from testing.email_platform import ReceiverThread

NOW = 1_767_225_600  # the receiver's (injected) clock: 2026-01-01T00:00:00Z
PRIVATE = ec.generate_private_key(ec.SECP256R1())
PUBLIC = signatures.public_key_b64(PRIVATE)
CALENDLY_KEY = "calendly-signing-key-test-4f2a"


def sg_event(n: int, event: str = "delivered", **extra) -> dict:
    return {
        "email": f"person{n}@example.com",
        "timestamp": NOW - 60 + n,
        "event": event,
        "sg_event_id": f"sg-{event}-{n}",
        "sg_message_id": f"msg-{n}.filter0001",
        "category": ["renewals"],
        "campaign_id": "1",
        **extra,
    }


def q(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or None).fetchall()


@pytest.fixture(scope="module")
def receiver(warehouse):
    r = Receiver(
        warehouse,
        sendgrid_public_key=PUBLIC,
        calendly_signing_key=CALENDLY_KEY,
        clock=lambda: NOW,
    )
    with ReceiverThread(r.app()) as srv, httpx.Client(base_url=srv.url, timeout=10) as client:
        yield client


def post_sendgrid(client, events, *, timestamp=NOW, key=PRIVATE, body=None):
    raw = body if body is not None else json.dumps(events).encode()
    headers = {
        signatures.SENDGRID_SIGNATURE: signatures.sign_sendgrid(key, raw, timestamp),
        signatures.SENDGRID_TIMESTAMP: str(timestamp),
        "Content-Type": "application/json",
    }
    return client.post("/webhooks/sendgrid", content=raw, headers=headers)


def stored_keys(url: str) -> list[str]:
    return [r[0] for r in q(url, "select event_key from raw_events.email_events order by 1")]


def test_bad_missing_and_stale_signatures_get_401_and_store_nothing(receiver, warehouse):
    before = stored_keys(warehouse)
    events = [sg_event(900)]
    stranger = ec.generate_private_key(ec.SECP256R1())
    answers = {
        "other key": post_sendgrid(receiver, events, key=stranger),
        "stale": post_sendgrid(receiver, events, timestamp=NOW - 301),
        "future": post_sendgrid(receiver, events, timestamp=NOW + 301),
        "body changed": receiver.post(
            "/webhooks/sendgrid",
            content=json.dumps([sg_event(901)]).encode(),
            headers=dict(post_sendgrid(receiver, events, key=stranger).request.headers),
        ),
        "no headers": receiver.post("/webhooks/sendgrid", content=json.dumps(events)),
    }
    assert {k: a.status_code for k, a in answers.items()} == dict.fromkeys(answers, 401)
    assert "outside the tolerance" in answers["stale"].json()["error"]
    assert "does not match" in answers["other key"].json()["error"]
    assert stored_keys(warehouse) == before
    # a signed body that is no event batch: 400, nothing stored
    bad = post_sendgrid(receiver, None, body=b'{"event": "delivered"}')
    assert bad.status_code == 400 and stored_keys(warehouse) == before


def test_duplicates_and_out_of_order_events_give_one_row_each(receiver, warehouse):
    later = [sg_event(3, "open", sg_machine_open=False), sg_event(2, "click", url="https://x.io")]
    first = post_sendgrid(receiver, later)
    assert first.status_code == 200 and first.json() == {"received": 2, "new": 2, "duplicates": 0}
    # the earlier events arrive afterwards, with a redelivery of one already stored and a
    # duplicate inside the batch; one event has no sg_event_id (deduplicated on its hash)
    no_id = {k: v for k, v in sg_event(4, "deferred").items() if k != "sg_event_id"}
    again = post_sendgrid(receiver, [sg_event(1), later[0], sg_event(1), no_id, dict(no_id)])
    assert again.json() == {"received": 5, "new": 2, "duplicates": 3}
    assert post_sendgrid(receiver, [no_id]).json()["new"] == 0
    rows = q(
        warehouse,
        "select event_type, email, occurred_at, payload->>'campaign_id' from raw_events.email_events"
        " where email like 'person_@example.com' order by occurred_at",
    )
    assert [r[0] for r in rows] == ["delivered", "click", "open", "deferred"]
    assert rows[0][2].isoformat() == "2025-12-31T23:59:01+00:00"  # Unix seconds -> UTC
    assert {r[3] for r in rows} == {"1"}  # custom args kept


def test_odd_json_numbers_and_concurrent_overlapping_redeliveries(receiver, warehouse):
    # an integer beyond 64 bits (a custom arg) is valid JSON: the payload is written with
    # orjson, which refuses it, so the standard library writes it, exactly
    big = post_sendgrid(receiver, [sg_event(700, order_ref=2**70)])
    assert big.status_code == 200 and big.json()["new"] == 1
    assert q(
        warehouse,
        "select payload->>'order_ref' from raw_events.email_events where event_key = %s",
        "sendgrid:sg-delivered-700",
    ) == [(str(2**70),)]
    # NaN is what json reads and jsonb cannot hold: 400 naming it, nothing stored
    nan = post_sendgrid(receiver, None, body=b'[{"event": "open", "score": NaN}]')
    assert nan.status_code == 400 and "NaN is not a number" in nan.json()["error"]
    # the same new events posted three times at once, one copy in reverse order: rows go in
    # key order, so the requests wait on each other instead of deadlocking (a 503); stored
    # once each
    answers = []

    def post(batch):
        answers.append(post_sendgrid(receiver, batch).json())

    for first in range(710, 1310, 200):
        events = [sg_event(n, "open") for n in range(first, first + 200)]
        threads = [threading.Thread(target=post, args=(b,)) for b in (events, events[::-1], events)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(answers) == 9 and all(a.get("received") == 200 for a in answers), answers
    assert sum(a["new"] for a in answers) == 600
    keys = [f"sendgrid:sg-open-{n}" for n in range(710, 1310)]
    assert q(
        warehouse, "select count(*) from raw_events.email_events where event_key = any(%s)", keys
    ) == [(600,)]


def test_hard_bounces_complaints_and_unsubscribes_suppress_soft_bounces_do_not(receiver, warehouse):
    batch = [
        sg_event(10, "bounce", type="bounce", reason="550 5.1.1 user unknown"),
        sg_event(11, "bounce", type="blocked", reason="421 try later"),
        sg_event(12, "spamreport"),
        sg_event(13, "group_unsubscribe", asm_group_id=7),
    ]
    assert post_sendgrid(receiver, batch).status_code == 200
    assert q(warehouse, "select email, reason from raw_campaigns.suppressions order by 1") == [
        ("person10@example.com", "hard_bounce"),
        ("person12@example.com", "complaint"),
        ("person13@example.com", "unsubscribe"),
    ]


def test_calendly_bookings_are_verified_and_stored_once(receiver, warehouse):
    def hook(event, uri, rescheduled=False):
        return {
            "event": event,
            "created_at": "2026-01-01T00:00:00.000000Z",
            "payload": {
                "uri": uri,
                "email": "Person1@Example.com",
                "name": "Person One",
                "status": "active" if event == "invitee.created" else "canceled",
                "rescheduled": rescheduled,
                "scheduled_event": {"start_time": "2026-01-08T15:00:00.000000Z"},
                "tracking": {"utm_campaign": "1"},
            },
        }

    def post(body, key=CALENDLY_KEY, t=NOW):
        raw = json.dumps(body).encode()
        sig = signatures.sign_calendly(key, raw, t)
        return receiver.post(
            "/webhooks/calendly", content=raw, headers={signatures.CALENDLY_SIGNATURE: sig}
        )

    created = hook("invitee.created", "https://api.calendly.com/scheduled_events/A/invitees/1")
    assert post(created).json() == {"received": 1, "new": 1}
    assert post(created).json() == {"received": 1, "new": 0}  # redelivered
    # a reschedule: the cancel (rescheduled) and a create for the new invitee
    cancel = hook("invitee.canceled", created["payload"]["uri"], rescheduled=True)
    assert post(cancel).json()["new"] == 1
    moved = hook("invitee.created", "https://api.calendly.com/scheduled_events/B/invitees/2")
    assert post(moved).json()["new"] == 1
    assert post(moved, key="wrong").status_code == 401
    assert post(moved, t=NOW - 181).status_code == 401  # Calendly's ~3 minutes
    rows = q(
        warehouse,
        "select event_type, email, rescheduled from raw_events.booking_events order by received_at",
    )
    assert rows == [
        ("invitee.created", "person1@example.com", False),
        ("invitee.canceled", "person1@example.com", True),
        ("invitee.created", "person1@example.com", False),
    ]


SES_BOUNCE = {
    "eventType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {"emailAddress": "ses1@example.com", "status": "5.1.1"},
            {"emailAddress": "SES2@example.com", "status": "5.1.1"},
        ],
        "timestamp": "2017-08-05T00:41:02.669Z",
        "feedbackId": "01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
    },
    "mail": {
        "timestamp": "2017-08-05T00:40:02.012Z",
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination": ["ses1@example.com", "SES2@example.com"],
        "tags": {"campaign_id": ["1"]},
    },
}
SES_OPEN = {
    "eventType": "Open",
    "mail": {
        "timestamp": "2017-08-09T21:59:49.927Z",
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000001",
        "destination": ["ses3@example.com"],
    },
    "open": {"ipAddress": "192.0.2.1", "timestamp": "2017-08-09T22:00:19.652Z"},
}
SES_TRANSIENT = {  # an identity notification (notificationType) inside an SNS envelope
    "Type": "Notification",
    "MessageId": "sns-1",
    "Message": json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Transient",
                "bouncedRecipients": [{"emailAddress": "ses4@example.com"}],
                "timestamp": "2017-08-05T01:00:00.000Z",
                "feedbackId": "transient-1",
            },
            "mail": {"timestamp": "2017-08-05T00:59:00.000Z", "messageId": "m4"},
        }
    ),
}


def test_ses_file_backfill_splits_recipients_reports_bad_lines_and_converges(warehouse, tmp_path):
    f = tmp_path / "ses.jsonl"
    lines = [json.dumps(SES_BOUNCE), json.dumps(SES_OPEN), "{not json", json.dumps(SES_TRANSIENT)]
    lines.append(json.dumps({"eventType": "Open"}))  # no mail object
    f.write_text("\n".join(lines) + "\n")
    first = load_events_file(warehouse, str(f), "ses", progress=lambda _m: None)
    assert (first.received, first.new, first.suppressed) == (4, 4, 2)
    assert first.problems[0].startswith(f"{f}: line 3: expected one JSON value")
    assert first.problems[1] == f"{f}: line 5.mail: expected the mail object"
    again = load_events_file(warehouse, str(f), "ses", progress=lambda _m: None)
    assert (again.received, again.new) == (4, 0)
    rows = q(
        warehouse,
        "select email, event_type, occurred_at from raw_events.email_events"
        " where provider = 'ses' order by email",
    )
    assert [(r[0], r[1]) for r in rows] == [
        ("ses1@example.com", "Bounce"),
        ("ses2@example.com", "Bounce"),
        ("ses3@example.com", "Open"),
        ("ses4@example.com", "Bounce"),
    ]
    assert rows[2][2].isoformat() == "2017-08-09T22:00:19.652000+00:00"  # ISO -> UTC
    reasons = q(
        warehouse,
        "select email, reason from raw_campaigns.suppressions where email like 'ses%' order by 1",
    )
    assert reasons == [("ses1@example.com", "hard_bounce"), ("ses2@example.com", "hard_bounce")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kill_9_during_a_burst_loses_no_acknowledged_event(warehouse):
    """The receiver as its own process (`outreach serve`); two senders post signed batches
    and log what was acknowledged; SIGKILL mid-burst; every acknowledged event is stored."""
    port = _free_port()
    env = dict(
        os.environ,
        OUTREACH_DATABASE_URL=warehouse,
        SENDGRID_WEBHOOK_PUBLIC_KEY=PUBLIC,
        OUTREACH_SERVE_PORT=str(port),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    acked: list[str] = []
    stop = threading.Event()
    try:
        with httpx.Client(base_url=base, timeout=5) as client:
            for _ in range(300):  # until it listens (startup only)
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.02)
            else:
                pytest.fail(proc.stderr.read().decode()[-2000:])

        def sender(worker: int) -> None:
            with httpx.Client(base_url=base, timeout=5) as client:
                n = 0
                while not stop.is_set():
                    events = [
                        sg_event(worker * 1_000_000 + n + i, timestamp=int(time.time()))
                        for i in range(50)
                    ]
                    n += 50
                    try:
                        answer = post_sendgrid(client, events, timestamp=int(time.time()))
                    except httpx.TransportError:
                        return  # the receiver is gone: unacknowledged
                    if answer.status_code == 200:
                        acked.extend(e["sg_event_id"] for e in events)

        threads = [threading.Thread(target=sender, args=(w,)) for w in (1, 2)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < 1000 and time.monotonic() < deadline:  # mid-burst
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        stop.set()
        for t in threads:
            t.join(10)
    finally:
        stop.set()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    stored = {
        r[0]
        for r in q(
            warehouse,
            "select payload->>'sg_event_id' from raw_events.email_events"
            " where payload->>'sg_event_id' = any(%s)",
            acked,
        )
    }
    assert len(acked) >= 1000
    assert set(acked) - stored == set(), "an acknowledged event was lost"


def test_the_dagster_sensor_records_new_events_as_materializations(warehouse, receiver):
    import dagster as dg

    from orchestration.assets.campaigns import KEYS, email_events_arrivals

    with dg.instance_for_test() as instance:
        first = email_events_arrivals(dg.build_sensor_context(instance=instance))
        assert isinstance(first, dg.SensorResult)
        cursor = first.cursor
        idle = email_events_arrivals(dg.build_sensor_context(instance=instance, cursor=cursor))
        assert isinstance(idle, dg.SkipReason)
        assert post_sendgrid(receiver, [sg_event(500, "open")]).json()["new"] == 1
        later = email_events_arrivals(dg.build_sensor_context(instance=instance, cursor=cursor))
        (event,) = later.asset_events
        assert event.asset_key == KEYS["email_events"]
        assert event.metadata["new_rows"].value == 1


def test_campaign_commands_before_the_first_build_say_what_to_do(warehouse, capsys):
    from app.cli import main

    code = main(["campaign", "create", "Early", "--contact-id", "1"])
    err = capsys.readouterr().err
    assert code == 1 and "the marts are not built yet" in err and "outreach dbt build" in err
    assert q(warehouse, "select count(*) from raw_campaigns.campaigns") == [(0,)]
