"""Campaigns and the suppression list, end to end on a real PostgreSQL with real dbt builds.

One warehouse for the module: intake (two companies, five people), the MillionVerifier test
server over HTTP on 127.0.0.1 turning the ``ok.*`` addresses green, then one dbt build of
the ready views and the campaign marts. Campaign and suppression changes need no rebuild
(the published campaign and suppression relations are views over the append-only raw
tables); the module ends with a full refresh to show that nothing a user did is lost.
Those steps are module fixtures, chained in that order, each recording what its tests
check right after it, so the tests pass in any order (``pytest -p randomly``).
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app.cli import main
from app.dbt import run_dbt
from loaders.email_events import signatures
from loaders.email_events.receiver import Receiver
from testing.email_platform import ReceiverThread, SendGridSimulator
from testing.millionverifier import MillionVerifierTestServer

pytestmark = pytest.mark.slow

KEY = "mv-campaigns-7d1e"
TODAY = datetime.now(UTC).date()
ACME_MONTH = TODAY.month % 12 + 1  # renews on the 1st of next month: window open today
BETA_MONTH = (TODAY.month + 5) % 12 + 1  # about six months away: closed

COMPANIES = f"""company_name,website_url,linkedin_url,news_url,renewal_month,renewal_notice_window_days
Acme Camp Inc,https://www.acme-camp.com,,,{ACME_MONTH},
Beta Camp LLC,beta-camp.io,,,{BETA_MONTH},
Gamma Camp Co,gamma-camp.io,,,{ACME_MONTH},
"""
PEOPLE = """full_name,title,email,linkedin_url,company_name
Ann Ok,CEO,ok.ann@acme-camp.com,,Acme Camp Inc
Bob Ok,Chief Financial Officer,ok.bob@acme-camp.com,,Acme Camp Inc
Cy Gray,VP People,unknown.cy@acme-camp.com,,Acme Camp Inc
Hal Ok,CEO,ok.hal@beta-camp.io,,Beta Camp LLC
Gil Ok,CEO,ok.gil@gamma-camp.io,,Gamma Camp Co
"""
MARTS = (
    "+vw_due_renewals_ready +vw_company_slots +campaign_contact +campaign +suppression_list"
    " +engagement_events +booking_event +message_log +ac_handoff"
)

# The Barton Outreach Core schema doc's usage query ("Find Campaign-Ready Companies",
# docs/DATABASE_SCHEMA.md of djb258/barton-outreach-core), verbatim.
SCHEMA_DOC_QUERY = """-- Companies in renewal window with verified contacts
SELECT c.company_name, nr.next_renewal_date, nr.campaign_window_start
FROM company.vw_due_renewals_ready nr
JOIN company.company c ON c.company_id = nr.company_id
WHERE nr.has_green_contact = true;"""


def q(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or None).fetchall()


def dbt(url: str, args: list[str]) -> str:
    proc = run_dbt(args, url=url, check=False, capture=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    return proc.stdout


def cli(*argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process and return (exit code, stdout, stderr). The steps below are
    module fixtures, which cannot take ``capsys``; the CLI writes to ``sys.stdout`` and
    ``sys.stderr`` as they are when it prints, so redirecting them captures it all."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def contact_id(url: str, email: str) -> int:
    return q(url, "select contact_id from people.contact where email = %s", email)[0][0]


@pytest.fixture(scope="module")
def world(warehouse, tmp_path_factory):
    from loaders.intake.run import load_intake_files
    from loaders.millionverifier.run import verify_emails

    tmp = tmp_path_factory.mktemp("campaigns")
    (tmp / "companies.csv").write_text(COMPANIES)
    (tmp / "people.csv").write_text(PEOPLE)
    load_intake_files(tmp / "companies.csv", tmp / "people.csv", progress=lambda _m: None)
    with MillionVerifierTestServer(api_key=KEY) as srv:
        verify_emails(
            database_url=warehouse,
            base_url=srv.base_url,
            api_key=KEY,
            emails=[line.split(",")[2] for line in PEOPLE.splitlines()[1:]],
            progress=lambda _m: None,
            pipelines_dir=tmp / "dlt",
        )
    dbt(warehouse, ["build", "--select", MARTS, "--exclude-resource-type", "test"])
    return {"url": warehouse, "tmp": tmp}


# Each step that changes the warehouse (suppressions, campaigns, the erasure and full
# refresh) is a module fixture that runs once, after the steps it depends on, and records
# what the tests check right after it; so the tests pass in any order.
@pytest.fixture(scope="module")
def before_changes(world):
    """The schema doc's query, before any suppression or campaign."""
    return q(world["url"], SCHEMA_DOC_QUERY)


@pytest.fixture(scope="module")
def gil_suppressed(world, before_changes):
    url = world["url"]
    step = {"add": cli("suppress", "add", " OK.Gil@Gamma-Camp.io ", "--reason", "manual")}
    # no rebuild: the views read the raw suppression list
    step["ready"] = dict(
        q(url, "select company_name, has_green_contact from company.vw_due_renewals_ready")
    )
    step["slots"] = q(
        url,
        "select role_code, full_name, email from company.vw_company_slots"
        " where company_name = 'Gamma Camp Co' order by role_code",
    )
    step["listed"] = q(url, "select contact_id, email, reason, source from people.suppression_list")
    step["gil"] = contact_id(url, "ok.gil@gamma-camp.io")
    step["again"] = cli("suppress", "add", "ok.gil@gamma-camp.io")
    return step


@pytest.fixture(scope="module")
def q1_renewals(world, gil_suppressed):
    url = world["url"]
    cli("suppress", "add", "ok.bob@acme-camp.com", "--reason", "unsubscribe")
    step = {"create": cli("campaign", "create", "Q1 Renewals", "--from", "renewals-ready")}
    step["members"] = q(url, "select campaign_id, contact_id from marketing.campaign_contact")
    step["ann"] = contact_id(url, "ok.ann@acme-camp.com")
    step["add"] = cli("campaign", "add", "Q1 Renewals", "--from", "renewals-ready", "--json")
    step["count"] = q(url, "select count(*) from marketing.campaign_contact")
    return step


@pytest.fixture(scope="module")
def hand_picked(world, q1_renewals):
    url = world["url"]
    f = world["tmp"] / "members.csv"
    hal = contact_id(url, "ok.hal@beta-camp.io")
    f.write_text(f"contact_id,email\n{hal},\n,OK.Ann@acme-camp.com\n999999,\n,nobody@x.io\n")
    step = {"file": f, "create": cli("campaign", "create", "Hand picked", "--from", str(f))}
    # a duplicate name is an operator error naming the campaign
    step["duplicate"] = cli("campaign", "create", "Hand picked", "--from", str(f))
    # remove appends to the log; the published membership follows without a build
    step["remove"] = cli("campaign", "remove", "Hand picked", "--contact-id", str(hal))
    step["show"] = cli("campaign", "show", "Hand picked", "--json")
    step["list"] = cli("campaign", "list", "--json")
    return step


@pytest.fixture(scope="module")
def ann_complained(world, hand_picked):
    url = world["url"]
    cli("suppress", "add", "ok.ann@acme-camp.com", "--reason", "complaint")
    return {
        "members": q(url, "select count(*) from marketing.campaign_contact"),
        "green": q(
            url, "select count(*) from company.vw_due_renewals_ready where has_green_contact"
        ),
        "show": cli("campaign", "show", "Q1 Renewals", "--json"),
    }


@pytest.fixture(scope="module")
def refreshed(world, ann_complained):
    from loaders.intake.run import load_intake_files
    from outreach import tombstones

    url, tmp = world["url"], world["tmp"]
    # a GDPR tombstone suppresses too (email kept as its hash only)
    with psycopg.connect(url) as conn:
        tombstones.record(conn, tombstones.identifier_hashes(["ok.hal@beta-camp.io"]))
    load_intake_files(tmp / "companies.csv", tmp / "people.csv", progress=lambda _m: None)
    # full refresh of every table upstream (their data tests run in the full build of
    # tests/test_published_relations.py)
    dbt(
        url,
        [
            "build",
            "--select",
            MARTS,
            "--full-refresh",
            "--exclude-resource-type",
            "unit_test",
            "--exclude-resource-type",
            "test",
        ],
    )
    return {
        "reasons": dict(
            q(url, "select coalesce(email, 'erased'), reason from people.suppression_list")
        ),
        "hal": contact_id(url, "ok.hal@beta-camp.io"),
        "gdpr": q(url, "select contact_id from people.suppression_list where reason = 'gdpr'"),
        "green": q(
            url, "select count(*) from company.vw_due_renewals_ready where has_green_contact"
        ),
        "members": q(url, "select count(*) from marketing.campaign_contact"),
        "slots": q(url, "select count(*) from company.vw_company_slots where email is not null"),
    }


def test_the_schema_docs_campaign_ready_query_runs_unchanged(before_changes):
    rows = before_changes
    assert sorted(r[0] for r in rows) == ["Acme Camp Inc", "Gamma Camp Co"]
    for _name, renewal, window_start in rows:
        assert renewal.day == 1 and renewal.month == ACME_MONTH
        assert (renewal - window_start).days == 120


def test_a_suppressed_contact_leaves_every_ready_view_at_once(gil_suppressed):
    step = gil_suppressed
    code, out, _ = step["add"]
    assert code == 0 and "1 addresses suppressed" in out
    # no rebuild: the views read the raw suppression list
    assert step["ready"] == {"Acme Camp Inc": True, "Gamma Camp Co": False}
    slots = step["slots"]
    assert slots and all(r[1:] == (None, None) for r in slots), slots
    assert step["listed"] == [(step["gil"], "ok.gil@gamma-camp.io", "manual", "cli")]
    # again: idempotent
    code, out, _ = step["again"]
    assert "0 addresses suppressed (1 already were)" in out


def test_campaign_create_from_renewals_ready_leaves_suppressed_out_and_says_why(q1_renewals):
    step = q1_renewals
    code, out, err = step["create"]
    assert code == 0, err
    # Ann (green CEO of Acme) is added; Bob (unsubscribed) and Gil (manual) left out; Cy is
    # gray, Hal's company is not in its window
    assert "1 contacts added" in out
    assert "2 left out as suppressed (1 manual, 1 unsubscribe)" in out
    assert [m[1] for m in step["members"]] == [step["ann"]]
    # adding again is idempotent
    summary = json.loads(step["add"][1])
    assert summary["added"] == 0 and summary["already_members"] == 1
    assert summary["left_out_suppressed"] == {"manual": 1, "unsubscribe": 1}
    assert step["count"] == [(1,)]


def test_published_campaign_relations_have_exactly_the_contract_columns(world):
    cols = q(
        world["url"],
        "select table_name, string_agg(column_name, ',' order by ordinal_position)"
        " from information_schema.columns where table_schema = 'marketing'"
        " and table_name in ('campaign', 'campaign_contact') group by 1 order by 1",
    )
    assert cols == [
        ("campaign", "campaign_id,name,created_at,updated_at"),
        ("campaign_contact", "campaign_contact_id,campaign_id,contact_id,created_at"),
    ]


def test_campaign_from_file_reports_bad_rows_and_keeps_good_ones(hand_picked):
    step, f = hand_picked, hand_picked["file"]
    code, out, err = step["create"]
    assert code == 0, err
    assert "2 contacts added" in out
    assert f"{f}: row 4: contact_id '999999' is not a known contact" in err
    assert f"{f}: row 5: email 'nobody@x.io' is not a known contact" in err
    # a duplicate name is an operator error naming the campaign
    code, _, err = step["duplicate"]
    assert code == 2 and "campaign 'Hand picked' exists already" in err
    # remove appends to the log; the published membership follows without a build
    code, out, _ = step["remove"]
    assert code == 0 and "1 contacts removed" in out
    shown = json.loads(step["show"][1])
    assert [m["email"] for m in shown["members"]] == ["ok.ann@acme-camp.com"]
    assert shown["changes"] == 3
    assert {r["name"]: r["members"] for r in json.loads(step["list"][1])} == {
        "Q1 Renewals": 1,
        "Hand picked": 1,
    }


def test_a_contact_suppressed_after_joining_leaves_the_campaign(ann_complained):
    step = ann_complained
    assert step["members"] == [(0,)]
    assert step["green"] == [(0,)]
    assert json.loads(step["show"][1])["suppressed_since_added"] == {"complaint": 1}


def test_engagement_events_speak_one_vocabulary_and_keep_unmatched_events(world, hand_picked):
    """Events of every source in one vocabulary, machine opens flagged, contacts and
    campaigns matched, over real HTTP into the receiver; the marts are views, so they show
    the events without a rebuild. Its rows are its own: no other test reads events."""
    url = world["url"]
    key = ec.generate_private_key(ec.SECP256R1())
    receiver = Receiver(
        url, sendgrid_public_key=signatures.public_key_b64(key), calendly_signing_key="cal-k"
    )
    cy = contact_id(url, "unknown.cy@acme-camp.com")
    (cid,) = q(url, "select campaign_id from raw_campaigns.campaigns where name = 'Hand picked'")[0]
    args = {"campaign_id": str(cid), "category": ["renewals"], "sg_message_id": "m1"}
    now = int(time.time())

    def ev(n, kind, email="unknown.cy@acme-camp.com", **extra):
        return {
            "email": email,
            "timestamp": now - 100 + n,
            "event": kind,
            "sg_event_id": f"eng-{n}",
            **args,
            **extra,
        }

    batch = [
        ev(1, "processed"),
        ev(2, "delivered"),
        ev(3, "open", useragent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"),
        ev(4, "open", sg_machine_open=True),
        ev(5, "open", useragent="Mozilla/5.0 (Windows NT 5.1) (via ggpht.com GoogleImageProxy)"),
        ev(6, "bounce", email="Nobody@Elsewhere.io", type="blocked"),
        ev(7, "click", url="https://example.com/renewal"),
    ]
    with ReceiverThread(receiver.app()) as srv:
        sim = SendGridSimulator(srv.url, key)
        with httpx.Client(timeout=10) as client:
            assert sim.post(client, batch).json()["new"] == 7
        assert sim.book(["unknown.cy@acme-camp.com"], "cal-k", now) == 1
    assert (
        cli(
            "message",
            "log",
            "--direction",
            "inbound",
            "--email",
            "Unknown.Cy@acme-camp.com",
            "--campaign",
            "Hand picked",
            "--subject",
            "Re: renewal",
        )[0]
        == 0
    )
    (company,) = q(
        url, "select company_id from company.company where company_name = 'Acme Camp Inc'"
    )[0]
    assert (
        cli(
            "handoff",
            "--company-id",
            str(company),
            "--contact-id",
            str(cy),
            "--notes",
            "wants a call",
        )[0]
        == 0
    )
    rows = q(
        url,
        "select engagement_event_id, event_type, contact_id, campaign_id, bounce_kind,"
        " is_machine_open from marketing.engagement_events order by engagement_event_id",
    )
    by_id = {r[0]: r[1:] for r in rows}
    assert by_id["sendgrid:eng-1"] == ("queued", cy, cid, None, False)
    assert by_id["sendgrid:eng-2"][0] == "delivered"
    assert by_id["sendgrid:eng-3"][0] == "opened" and by_id["sendgrid:eng-3"][-1] is False
    assert by_id["sendgrid:eng-4"][-1] is True and by_id["sendgrid:eng-5"][-1] is True
    assert by_id["sendgrid:eng-6"] == ("bounced", None, cid, "soft", False)  # kept
    assert by_id["sendgrid:eng-7"][0] == "clicked"
    others = sorted(v[:3] for k, v in by_id.items() if not k.startswith("sendgrid:"))
    assert others == [("booked", cy, None), ("handed_off", cy, None), ("replied", cy, cid)]
    assert q(url, "select contact_id, company_id, source from marketing.booking_event") == [
        (cy, company, "calendly")
    ]
    assert q(url, "select direction, subject, contact_id from marketing.message_log") == [
        ("inbound", "Re: renewal", cy)
    ]
    assert q(url, "select notes from marketing.ac_handoff") == [("wants a call",)]


def test_suppressions_survive_a_reload_and_a_full_refresh(refreshed):
    assert refreshed["reasons"] == {
        "ok.gil@gamma-camp.io": "manual",
        "ok.bob@acme-camp.com": "unsubscribe",
        "ok.ann@acme-camp.com": "complaint",
        "erased": "gdpr",
    }
    assert refreshed["gdpr"] == [(refreshed["hal"],)]
    assert refreshed["green"] == [(0,)]
    assert refreshed["members"] == [(0,)]
    assert refreshed["slots"] == [(1,)]  # Cy, gray, is the only contact left on offer
