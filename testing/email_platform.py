"""Test mode for the sending platform: a SendGrid Event Webhook / Calendly simulator that
posts signed batches to ``outreach serve``, and a runner for the receiver in a thread.

The events follow SendGrid's Event Webhook reference (``email``, ``timestamp``, ``event``,
``sg_event_id``, ``sg_message_id``, ``category``, ``type`` for bounces, ``useragent``,
``sg_machine_open``, custom args at the top level) and Calendly's v2 webhook payload. The
rates are made up but shaped like a cold campaign: most delivered, a few hard and soft
bounces, many machine opens (privacy proxies), fewer human opens, some clicks, a few
percent replies, unsubscribes and complaints; batches are resent (duplicates) and
shuffled (out-of-order), as the provider does.

    sim = SendGridSimulator(receiver_url, private_key, seed=7)
    plan = sim.campaign(contacts, campaign_id=1, now=time.time())
    sim.deliver(plan.events)               # signed POSTs, duplicates and shuffling included
    sim.book(plan.bookers, calendly_key)   # invitee.created webhooks
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from loaders.email_events import signatures

HUMAN_AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"
PROXY_AGENT = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
RATES = {
    "hard_bounce": 0.03,
    "soft_bounce": 0.04,  # blocked, then delivered after a deferral
    "machine_open": 0.45,
    "human_open": 0.30,
    "click_of_human": 0.35,
    "reply": 0.05,
    "unsubscribe": 0.02,
    "complaint": 0.005,
    "book_of_reply": 0.5,
    "duplicate": 0.05,
}


@dataclass
class Plan:
    events: list[dict[str, Any]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # addresses that replied
    bookers: list[str] = field(default_factory=list)  # addresses that booked


class SendGridSimulator:
    def __init__(
        self,
        receiver_url: str,
        private_key: ec.EllipticCurvePrivateKey,
        *,
        seed: int = 0,
        batch_size: int = 100,
        clock=time.time,
    ):
        self.url = receiver_url.rstrip("/")
        self.key = private_key
        self.rng = random.Random(seed)
        self.batch_size = batch_size
        self.clock = clock
        self.sent_log: list[tuple[list[str], int]] = []  # (event ids, status) per POST

    def _event(self, email: str, kind: str, at: float, msg: str, args: dict, **extra) -> dict:
        return {
            "email": email,
            "timestamp": int(at),
            "event": kind,
            "sg_event_id": uuid.UUID(int=self.rng.getrandbits(128)).hex,
            "sg_message_id": msg,
            "category": ["outreach"],
            **args,
            **extra,
        }

    def campaign(self, emails: list[str], campaign_id: int, now: float) -> Plan:
        """The events a send of one message per address would produce."""
        plan, r = Plan(), self.rng
        args = {"campaign_id": str(campaign_id)}
        for email in emails:
            msg = f"{uuid.UUID(int=r.getrandbits(128)).hex[:22]}.filter0001"
            t = now - 3600 + r.random() * 600
            ev = plan.events
            ev.append(self._event(email, "processed", t, msg, args))
            roll = r.random()
            if roll < RATES["hard_bounce"]:
                ev.append(
                    self._event(
                        email,
                        "bounce",
                        t + 5,
                        msg,
                        args,
                        type="bounce",
                        reason="550 5.1.1 user unknown",
                    )
                )
                continue
            if roll < RATES["hard_bounce"] + RATES["soft_bounce"]:
                ev.append(self._event(email, "deferred", t + 5, msg, args, attempt="1"))
            ev.append(self._event(email, "delivered", t + 10, msg, args))
            if r.random() < RATES["machine_open"]:
                ev.append(
                    self._event(
                        email,
                        "open",
                        t + 12,
                        msg,
                        args,
                        sg_machine_open=True,
                        useragent=PROXY_AGENT,
                    )
                )
            if r.random() < RATES["human_open"]:
                ev.append(
                    self._event(
                        email,
                        "open",
                        t + 300,
                        msg,
                        args,
                        sg_machine_open=False,
                        useragent=HUMAN_AGENT,
                    )
                )
                if r.random() < RATES["click_of_human"]:
                    ev.append(
                        self._event(
                            email,
                            "click",
                            t + 320,
                            msg,
                            args,
                            url="https://example.com/renewal",
                            useragent=HUMAN_AGENT,
                        )
                    )
                if r.random() < RATES["reply"] / RATES["human_open"]:
                    plan.replies.append(email)
                    if r.random() < RATES["book_of_reply"]:
                        plan.bookers.append(email)
            roll = r.random()
            if roll < RATES["unsubscribe"]:
                ev.append(self._event(email, "unsubscribe", t + 400, msg, args))
            elif roll < RATES["unsubscribe"] + RATES["complaint"]:
                ev.append(self._event(email, "spamreport", t + 400, msg, args))
        return plan

    def batches(self, events: list[dict]) -> list[list[dict]]:
        """Shuffled batches with some events sent twice (SendGrid's at-least-once)."""
        out = list(events)
        out += [e for e in events if self.rng.random() < RATES["duplicate"]]
        self.rng.shuffle(out)
        return [out[i : i + self.batch_size] for i in range(0, len(out), self.batch_size)]

    def post(self, client: httpx.Client, batch: list[dict]) -> httpx.Response:
        body = json.dumps(batch).encode()
        ts = int(self.clock())
        answer = client.post(
            f"{self.url}/webhooks/sendgrid",
            content=body,
            headers={
                signatures.SENDGRID_SIGNATURE: signatures.sign_sendgrid(self.key, body, ts),
                signatures.SENDGRID_TIMESTAMP: str(ts),
                "Content-Type": "application/json",
            },
        )
        self.sent_log.append(([e["sg_event_id"] for e in batch], answer.status_code))
        return answer

    def deliver(self, events: list[dict]) -> int:
        """POST every batch (retrying a non-2xx once, as SendGrid retries); returns the
        number of acknowledged POSTs."""
        ok = 0
        with httpx.Client(timeout=10) as client:
            for batch in self.batches(events):
                answer = self.post(client, batch)
                if answer.status_code != 200:
                    answer = self.post(client, batch)
                ok += answer.status_code == 200
        return ok

    def book(self, emails: list[str], signing_key: str, now: float) -> int:
        """One Calendly invitee.created per address (signed); returns the 200s."""
        ok = 0
        with httpx.Client(timeout=10) as client:
            for email in emails:
                invitee = uuid.UUID(int=self.rng.getrandbits(128)).hex
                hook = {
                    "event": "invitee.created",
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(now)),
                    "payload": {
                        "uri": f"https://api.calendly.com/scheduled_events/{invitee}/invitees/1",
                        "email": email,
                        "status": "active",
                        "rescheduled": False,
                        "scheduled_event": {
                            "start_time": time.strftime(
                                "%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(now + 7 * 86400)
                            )
                        },
                    },
                }
                body = json.dumps(hook).encode()
                sig = signatures.sign_calendly(signing_key, body, int(self.clock()))
                answer = client.post(
                    f"{self.url}/webhooks/calendly",
                    content=body,
                    headers={signatures.CALENDLY_SIGNATURE: sig},
                )
                ok += answer.status_code == 200
        return ok


class ReceiverThread:
    """An ASGI app on uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app):
        import uvicorn

        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> ReceiverThread:
        self.thread.start()
        while not self.server.started and self.thread.is_alive():
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
