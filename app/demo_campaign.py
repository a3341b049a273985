"""The demo's renewal campaign, end to end: a campaign from company.vw_due_renewals_ready,
one outbound email per member in the message log, the test-mode sending platform posting
signed SendGrid event batches (and Calendly bookings) to the receiver over HTTP on
127.0.0.1, replies in the message log, and the funnel from marketing.engagement_events
(views over the raw events: no rebuild between the events and the funnel)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg

FUNNEL = """
select event_type,
       count(distinct contact_id) filter (where not is_machine_open) as people,
       count(*) filter (where is_machine_open) as machine
from marketing.engagement_events
where campaign_id = %s
group by event_type
"""
ORDER = (
    "sent",
    "queued",
    "delivered",
    "deferred",
    "bounced",
    "opened",
    "clicked",
    "replied",
    "unsubscribed",
    "complained",
)


def run_campaign_demo(url: str, progress: Callable[[str], object] = print) -> list[str] | None:
    from cryptography.hazmat.primitives.asymmetric import ec

    from loaders.email_events import signatures
    from loaders.email_events.receiver import Receiver
    from outreach import campaigns
    from testing.email_platform import ReceiverThread, SendGridSimulator

    name = f"Renewals {datetime.now(UTC):%Y-%m}"
    with psycopg.connect(url) as conn:
        try:
            cid = campaigns.create_campaign(conn, name, "renewals-ready")
        except campaigns.CampaignError:
            cid = campaigns.campaign_id(conn, name)
        added = campaigns.add_contacts(
            conn, cid, campaigns.slot_candidates(conn, "renewals-ready"), "renewals-ready"
        )
        progress(added.render(name))
        members = conn.execute(
            "select m.contact_id, c.email from marketing.campaign_contact as m"
            " join people.contact as c using (contact_id) where m.campaign_id = %s",
            (cid,),
        ).fetchall()
        now = datetime.now(UTC)
        campaigns.record_messages(
            conn,
            [
                campaigns.Message(
                    "outbound", now, cid, contact, email, subject="Your renewal is coming up"
                )
                for contact, email in members
            ],
            "demo",
        )
    if not members:
        progress("no campaign-ready contacts: nothing to send")
        return []
    key = ec.generate_private_key(ec.SECP256R1())
    calendly_key = "demo-calendly-signing-key"
    receiver = Receiver(
        url, sendgrid_public_key=signatures.public_key_b64(key), calendly_signing_key=calendly_key
    )
    with ReceiverThread(receiver.app()) as srv:
        sim = SendGridSimulator(srv.url, key, seed=19)
        plan = sim.campaign([e for _c, e in members], cid, time.time())
        acked = sim.deliver(plan.events)
        booked = sim.book(plan.bookers, calendly_key, time.time())
    progress(
        f"{len(plan.events)} events in {acked} signed batches to {srv.url} "
        f"(shuffled, some sent twice); {booked} bookings"
    )
    with psycopg.connect(url) as conn:
        campaigns.record_messages(
            conn,
            [
                campaigns.Message("inbound", datetime.now(UTC), cid, email=e, subject="Re: renewal")
                for e in plan.replies
            ],
            "demo",
        )
        rows = {r[0]: r[1:] for r in conn.execute(FUNNEL, (cid,))}
        (booked_people,) = conn.execute(
            "select count(distinct contact_id) from marketing.booking_event"
            " where contact_id in (select contact_id from marketing.campaign_contact"
            " where campaign_id = %s)",
            (cid,),
        ).fetchone()
        (suppressed,) = conn.execute(
            "select count(*) from people.suppression_list where source like 'sendgrid:%'"
        ).fetchone()
    lines = [f"campaign {name} (id {cid}): {len(members)} contacts"]
    for event in ORDER:
        people, machine = rows.get(event, (0, 0))
        extra = f"  (+{machine} machine opens, not counted)" if machine else ""
        lines.append(f"  {event:<13} {people:>6}{extra}")
    lines.append(f"  {'booked':<13} {booked_people:>6}")
    lines.append(f"  suppressed by bounces, complaints, unsubscribes: {suppressed}")
    return lines
