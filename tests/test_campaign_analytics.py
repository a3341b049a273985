"""Campaign analytics (issue 20) on planted data, real PostgreSQL and one module-scoped dbt
build: every count and rate of marketing.campaign_performance equals an independent
computation over the planted sends (plain Python here), the success-criteria thresholds
land in marketing.ops_alerts, and an incremental build after new events equals a full
refresh.

The planted events follow SendGrid's Event Webhook reference (``processed``, ``delivered``,
``bounce`` with ``type`` bounce/blocked, ``open`` with ``sg_machine_open``, ``click``,
``unsubscribe``, ``spamreport``; custom args ``campaign_id``, ``step``, ``variant`` at the
top level), as testing/email_platform.py does.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from app.cli import main
from app.dbt import run_dbt
from outreach import ab_tests, campaigns
from testing.millionverifier import MillionVerifierTestServer, classify

pytestmark = pytest.mark.slow

AS_OF = "2026-12-01 00:00:00+00"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
VARS = json.dumps({"as_of": AS_OF, "campaign_alert_min_sends": 50})
SELECT = (
    "+campaign_performance +ops_alerts +ab_tests +performance_metrics +follow_up_queue"
    " +lead_score_calibration"
)
PROXY_AGENT = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
HUMAN_AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15"


@dataclass
class Send:
    campaign: str
    step: str
    variant: str
    email: str
    msg: str
    at: datetime
    flags: dict = field(default_factory=dict)


def q(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or None).fetchall()


def dbt(url: str, args: list[str]) -> str:
    proc = run_dbt(args, url=url, check=False, capture=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    return proc.stdout


class Planter:
    """Writes SendGrid-shaped events into raw_events.email_events and keeps, per send,
    what it planted: the expected values come from here, not from the warehouse."""

    def __init__(self, url: str, seed: int):
        self.url = url
        self.rng = random.Random(seed)
        self.rows: list[tuple] = []
        self.sends: list[Send] = []
        self.n = 0
        self.log: list[tuple] = []  # (email, event, at, machine open) of every planted event

    def event(self, send: Send, cid: int, kind: str, at: datetime, **extra) -> None:
        self.n += 1
        payload = {
            "email": send.email,
            "timestamp": int(at.timestamp()),
            "event": kind,
            "sg_event_id": f"ev-{send.msg}-{self.n}",
            "sg_message_id": send.msg,
            "campaign_id": str(cid),
            "step": send.step,
            "variant": send.variant,
            **extra,
        }
        self.log.append((send.email, kind, at, bool(extra.get("sg_machine_open"))))
        self.rows.append(
            (
                f"sendgrid:{payload['sg_event_id']}",
                kind,
                send.email,
                at,
                send.msg,
                json.dumps(payload),
            )
        )

    def send(self, cid: int, campaign: str, step: str, variant: str, email: str, p: dict) -> Send:
        r = self.rng
        s = Send(campaign, step, variant, email, f"msg{len(self.sends):05d}.{campaign}", T0)
        s.at = T0 + timedelta(minutes=len(self.sends))
        self.sends.append(s)
        f = s.flags = dict.fromkeys(
            ["delivered", "hard", "soft", "human", "machine", "click", "unsub", "complaint"], 0
        )
        self.event(s, cid, "processed", s.at)
        if r.random() < p["hard"]:
            self.event(s, cid, "bounce", s.at + timedelta(seconds=5), type="bounce")
            f["hard"] = 1
            return s
        if r.random() < p["soft"]:
            self.event(s, cid, "bounce", s.at + timedelta(seconds=5), type="blocked")
            f["soft"] = 1
            if r.random() < 0.5:  # blocked for good: never delivered
                return s
        self.event(s, cid, "delivered", s.at + timedelta(seconds=10))
        f["delivered"] = 1
        if r.random() < 0.4:
            self.event(
                s,
                cid,
                "open",
                s.at + timedelta(seconds=12),
                sg_machine_open=True,
                useragent=PROXY_AGENT,
            )
            f["machine"] = 1
        if r.random() < p["open"]:
            for k in range(1 + (r.random() < 0.3)):  # some people open twice: one unique open
                self.event(
                    s,
                    cid,
                    "open",
                    s.at + timedelta(minutes=5 + k),
                    sg_machine_open=False,
                    useragent=HUMAN_AGENT,
                )
            f["human"] = 1
            if r.random() < 0.3:
                self.event(
                    s,
                    cid,
                    "click",
                    s.at + timedelta(minutes=7),
                    url="https://example.com/x",
                    useragent=HUMAN_AGENT,
                )
                f["click"] = 1
        roll = r.random()
        if roll < p["unsub"]:
            self.event(s, cid, "unsubscribe", s.at + timedelta(minutes=9))
            f["unsub"] = 1
        elif roll < p["unsub"] + 0.01:
            self.event(s, cid, "spamreport", s.at + timedelta(minutes=9))
            f["complaint"] = 1
        return s

    def flush(self) -> None:
        with psycopg.connect(self.url) as conn, conn.cursor() as cur:
            cur.executemany(
                "insert into raw_events.email_events"
                " (event_key, provider, event_type, email, occurred_at, message_id, payload)"
                " values (%s, 'sendgrid', %s, %s, %s, %s, %s)",
                self.rows,
            )
            # at-least-once delivery: the provider resends some events; stored once
            cur.executemany(
                "insert into raw_events.email_events"
                " (event_key, provider, event_type, email, occurred_at, message_id, payload)"
                " values (%s, 'sendgrid', %s, %s, %s, %s, %s) on conflict do nothing",
                self.rows[::17],
            )
        self.rows = []


ALPHA = {
    "A": dict(hard=0.02, soft=0.03, open=0.25, unsub=0.02),
    "B": dict(hard=0.02, soft=0.03, open=0.35, unsub=0.02),
}
BETA = dict(hard=0.15, soft=0.1, open=0.1, unsub=0.15)
MV_KEY = "mv-analytics-20"
# titles of the known contacts and their seniority rank by seeds/title_seniority.csv's rules
TITLES = [
    ("Director", 6),
    ("CEO", 11),
    ("Chief Financial Officer", 10),
    ("Software Engineer", 1),
    ("VP Sales", 8),
    ("Head of People", 7),
    ("Senior Account Manager", 5),
    ("", 0),
]
CONTACTS_PER_VARIANT = 40  # the first recipients of each Alpha variant are known contacts


def expected(sends: list[Send], outcomes: dict[str, dict]) -> dict[tuple, dict]:
    """campaign_performance recomputed from the planted sends: {(grain, campaign, step, variant): row}."""
    out: dict[tuple, dict] = {}
    for s in sends:
        o = outcomes.get(s.msg, {})
        for key in (
            ("campaign", s.campaign, None, None),
            ("variant", s.campaign, s.step, s.variant),
        ):
            row = out.setdefault(
                key,
                dict.fromkeys(
                    [
                        "sends",
                        "delivered",
                        "hard_bounces",
                        "soft_bounces",
                        "unique_human_opens",
                        "machine_opens",
                        "unique_clicks",
                        "replies",
                        "unsubscribes",
                        "complaints",
                        "meetings_booked",
                        "handoffs",
                    ],
                    0,
                ),
            )
            f = s.flags
            row["sends"] += 1
            row["delivered"] += f["delivered"]
            row["hard_bounces"] += f["hard"]
            row["soft_bounces"] += f["soft"]
            row["unique_human_opens"] += f["human"]
            row["machine_opens"] += f["machine"]
            row["unique_clicks"] += f["click"]
            row["unsubscribes"] += f["unsub"]
            row["complaints"] += f["complaint"]
            row["replies"] += o.get("replied", 0)
            row["meetings_booked"] += o.get("booked", 0)
            row["handoffs"] += o.get("handed_off", 0)
    for row in out.values():

        def rate(a, b, row=row):
            return None if row[b] == 0 else row[a] / row[b]

        row["delivery_rate"] = rate("delivered", "sends")
        row["hard_bounce_rate"] = rate("hard_bounces", "sends")
        row["soft_bounce_rate"] = rate("soft_bounces", "sends")
        row["open_rate"] = rate("unique_human_opens", "delivered")
        row["click_rate"] = rate("unique_clicks", "delivered")
        row["click_to_open_rate"] = rate("unique_clicks", "unique_human_opens")
        row["reply_rate"] = rate("replies", "delivered")
        row["unsubscribe_rate"] = rate("unsubscribes", "delivered")
        row["complaint_rate"] = rate("complaints", "delivered")
        row["meeting_rate"] = rate("meetings_booked", "delivered")
        row["handoff_rate"] = rate("handoffs", "delivered")
    return out


def mart(url: str) -> dict[tuple, dict]:
    with psycopg.connect(url) as conn:
        cur = conn.execute("select * from marketing.campaign_performance")
        cols = [d.name for d in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    return {(r["grain"], r["campaign_name"], r["campaign_step"], r["variant"]): r for r in rows}


def assert_matches(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for key, row in want.items():
        for col, value in row.items():
            g = got[key][col]
            if value is None or g is None:
                assert g is None and value is None, (key, col, g, value)
            else:
                assert float(g) == pytest.approx(value, abs=1e-12), (key, col, g, value)


DECLARED = [
    ab_tests.Declaration(
        "subject_open", "Alpha", "A", "B", 200, primary_metric="open", campaign_step="1"
    ),
    ab_tests.Declaration("reply_big", "Alpha", "A", "B", 1000),  # far too few sends yet
    ab_tests.Declaration(  # sends were split 50/50, not the declared 80/20
        "srm_check",
        "Alpha",
        "A",
        "B",
        100,
        primary_metric="open",
        campaign_step="1",
        expected_share_a=0.8,
    ),
    ab_tests.Declaration(
        "click_ab", "Alpha", "A", "B", 200, primary_metric="click", campaign_step="1"
    ),
]


@pytest.fixture(scope="module")
def world(warehouse, tmp_path_factory):
    from loaders.intake.run import load_intake_files
    from loaders.millionverifier.run import verify_emails

    url = warehouse
    with psycopg.connect(url) as conn:
        alpha = campaigns.create_campaign(conn, "Alpha", "test")
        beta = campaigns.create_campaign(conn, "Beta", "test")
    planter = Planter(url, seed=20)
    for variant, p in ALPHA.items():
        for i in range(300):
            planter.send(alpha, "Alpha", "1", variant, f"{variant.lower()}{i:03d}@alpha.test", p)
    for i in range(60):  # a second step, one variant
        planter.send(alpha, "Alpha", "2", "A", f"a{i:03d}@alpha.test", ALPHA["A"])
    for i in range(80):
        planter.send(beta, "Beta", "1", "default", f"b{i:03d}@beta.test", BETA)
    planter.flush()

    tmp = tmp_path_factory.mktemp("analytics")
    people = [f"{v}{i:03d}@alpha.test" for v in "ab" for i in range(CONTACTS_PER_VARIANT)]
    # every person planted (intake) with their employer: the campaign's known contacts (every
    # third at Quiet), then plant_bit's extra people, all at Alpha
    employers = {e: ("Alpha Test Co", "Quiet Test Co")[n % 3 == 2] for n, e in enumerate(people)}
    employers |= dict.fromkeys(EXTRA_PEOPLE, "Alpha Test Co")
    # Alpha renews in February: its renewal window (120 days) is open at AS_OF, so the
    # build emits a renewal_window_open_120d signal for it (lead score intent); Quiet has none
    (tmp / "companies.csv").write_text(
        "company_name,website_url,renewal_month\nAlpha Test Co,alpha.test,2\n"
        "Quiet Test Co,quiet.test,\n"
    )
    (tmp / "people.csv").write_text(
        "full_name,title,email,linkedin_url,company_name\n"
        + "".join(
            f"Person {e.split('@')[0]},{TITLES[n % len(TITLES)][0]},{e},,{employers[e]}\n"
            for n, e in enumerate(people)
        )
    )
    load_intake_files(tmp / "companies.csv", tmp / "people.csv", progress=lambda _m: None)
    # MillionVerifier (test-mode stand-in: hash-picked results) checks most addresses; each
    # check is stamped with the time its answer arrived (checked_at), within this window
    checked = [e for e in people[:64] if classify(e)[0] != "error"]
    with MillionVerifierTestServer(api_key=MV_KEY) as srv:
        checks_from = datetime.now(UTC)
        verify_emails(
            database_url=url,
            base_url=srv.base_url,
            api_key=MV_KEY,
            emails=checked,
            progress=lambda _m: None,
            pipelines_dir=tmp / "dlt",
        )
        checks_until = datetime.now(UTC)

    # replies (message log), bookings (Calendly) and hand-offs of known contacts; each is
    # attributed to the latest send to that contact at or before it
    rng = random.Random(21)
    outcomes: dict[str, dict] = {}
    latest: dict[str, Send] = {}
    for s in planter.sends:
        if s.campaign == "Alpha" and s.email in people:
            latest[s.email] = s  # sends are planted in time order
    replies, bookings = [], []
    for email, s in latest.items():
        if rng.random() < (0.1 if s.variant == "A" else 0.3):
            at = s.at + timedelta(hours=2)
            replies.append(campaigns.Message("inbound", at, alpha, email=email, subject="Re"))
            replies.append(
                campaigns.Message("inbound", at + timedelta(hours=1), alpha, email=email)
            )
            outcomes.setdefault(s.msg, {})["replied"] = 1  # two replies, one replied send
            if rng.random() < 0.5:
                bookings.append((email, at + timedelta(hours=3)))
                outcomes[s.msg]["booked"] = 1
    with psycopg.connect(url) as conn:
        campaigns.record_messages(conn, replies, "test")
        for n, (email, at) in enumerate(bookings):
            conn.execute(
                "insert into raw_events.booking_events (event_key, source, event_type, email,"
                " occurred_at, scheduled_start, payload) values (%s, 'calendly', 'invitee.created',"
                " %s, %s, %s, %s)",
                (
                    f"calendly:{n}",
                    email,
                    at,
                    at + timedelta(days=2),
                    json.dumps({"payload": {"uri": f"https://api.calendly.com/invitees/{n}"}}),
                ),
            )
    declared = T0 - timedelta(days=1)
    with psycopg.connect(url) as conn:
        for d in DECLARED:
            assert ab_tests.declare(conn, d, "test", now=declared)
        assert not ab_tests.declare(conn, DECLARED[0], "test", now=declared)  # never changed
    # declared now, after every planted send: nothing counts
    (tmp / "late.json").write_text(
        json.dumps(
            [
                {
                    "test_name": "late",
                    "campaign": "Alpha",
                    "variant_a": "A",
                    "variant_b": "B",
                    "min_sample_per_arm": 10,
                }
            ]
        )
    )
    assert main(["campaign", "ab-test", "--from-file", str(tmp / "late.json")]) == 0
    plant_bit(url, tmp, alpha, employers)
    # one build: the campaign marts and the BIT marts with everything upstream, and the
    # tests whose every parent is built (the BIT models' own tests among them)
    dbt(
        url,
        ["build", "--select", SELECT, BIT_SELECT, "--indirect-selection", "cautious"]
        + ["--vars", VARS],
    )
    replied = {
        e: s.at + timedelta(hours=3)  # each replied twice, the later at +3 h
        for e, s in latest.items()
        if outcomes.get(s.msg, {}).get("replied")
    }
    ((contacts, intent, signals),) = q(
        url, "select count(*), max(intent_points), sum(signals) from marketing.lead_scores"
    )
    return {
        "scores_at_as_of": (contacts, intent, signals),
        "url": url,
        "planter": planter,
        "outcomes": outcomes,
        "alpha": alpha,
        "beta": beta,
        "latest": latest,
        "bookings": bookings,
        "initial": len(planter.sends),
        "replied": replied,
        "handoffs": [],  # (email, at) of hand-offs planted by later tests
        "employers": employers,
        "bit_planted": {  # what the BIT marts were built from
            "log": list(planter.log),
            "sends": list(planter.sends),
            "replied": replied,
            "bookings": [*bookings, ("guest@alpha.test", GUEST_BOOKED)],
            "handoffs": [],
            "checked": {e: (checks_from, checks_until) for e in checked},
        },
    }


def test_campaign_performance_equals_an_independent_count_of_the_planted_sends(world):
    want = expected(world["planter"].sends, world["outcomes"])  # current, whatever ran before
    assert_matches(mart(world["url"]), want)
    assert want[("variant", "Alpha", "1", "B")]["machine_opens"] > 0
    assert want[("campaign", "Alpha", None, None)]["replies"] > 0


def test_success_criteria_thresholds_become_ops_alerts(world):
    rows = q(
        world["url"],
        "select threshold_id, subject, observed_value from marketing.ops_alerts"
        " where metric like 'campaign%' order by 1, 2",
    )
    # alerts are kept as first detected: the values of the first build's sends
    want = expected(world["planter"].sends[: world["initial"]], world["outcomes"])
    beta = want[("campaign", "Beta", None, None)]
    alpha = want[("campaign", "Alpha", None, None)]
    expect = []
    for tid, metric, op, limit in [
        ("campaign_delivery_rate_low", "delivery_rate", "below", 0.9),
        ("campaign_open_rate_low", "open_rate", "below", 0.2),
        ("campaign_reply_rate_low", "reply_rate", "below", 0.05),
        ("campaign_unsubscribe_rate_high", "unsubscribe_rate", "above", 0.1),
    ]:
        for name, row in (("Alpha", alpha), ("Beta", beta)):
            denominator = row["sends"] if metric == "delivery_rate" else row["delivered"]
            v = row[metric]
            if denominator >= 50 and v is not None and (v < limit if op == "below" else v > limit):
                expect.append((tid, name, pytest.approx(v, abs=1e-6)))  # numeric(…, 6)
    assert [(t, n, float(v)) for t, n, v in rows] == sorted(expect)
    assert any(r[1] == "Beta" for r in rows) and len(rows) >= 2


def test_mart_totals_equal_staging_counts(world):
    # the singular fan-out test ran in the build; and directly: sends = distinct messages
    assert q(
        world["url"],
        "select sum(sends) from marketing.campaign_performance where grain = 'campaign'",
    ) == [(len(world["planter"].sends),)]


def test_incremental_build_after_new_events_equals_a_full_refresh(world):
    url, planter = world["url"], world["planter"]
    # 1 % new: a few new sends and late events (a click) on old sends
    for i in range(6):
        planter.send(world["alpha"], "Alpha", "1", "B", f"late{i}@alpha.test", ALPHA["B"])
    old = next(s for s in planter.sends if s.flags["delivered"] and not s.flags["click"])
    planter.event(
        old, world["alpha"], "click", old.at + timedelta(hours=5), url="https://example.com/y"
    )
    old.flags["click"] = 1
    planter.flush()
    # and hand-offs of contacts who booked, recorded after the first build
    handed = sorted(world["bookings"])[:2]
    with psycopg.connect(url) as conn:
        for email, _at in handed:
            cid, company = conn.execute(
                "select c.contact_id, b.company_id from people.contact c"
                " join marketing.booking_event b using (contact_id) where c.email = %s",
                (email,),
            ).fetchone()
            conn.execute(
                "insert into raw_campaigns.handoffs (company_id, contact_id, notes, source, created_at)"
                " values (%s, %s, 'ready', 'test', %s)",
                (company, cid, T0 + timedelta(days=3)),
            )
            world["outcomes"][world["latest"][email].msg]["handed_off"] = 1
            world["handoffs"].append((email, T0 + timedelta(days=3)))
    dbt(
        url,
        [
            "build",
            "--select",
            "int_campaign_sends int_campaign_sends_attributed campaign_performance"
            " int_ab_test_results ab_tests performance_metrics",
            "--exclude-resource-type",
            "test",
            "--vars",
            VARS,
        ],
    )
    incremental = q(url, "select * from intermediate.int_campaign_sends order by send_key")
    perf = mart(url)
    assert_matches(perf, expected(planter.sends, world["outcomes"]))
    dbt(url, ["build", "--select", "int_campaign_sends", "--full-refresh", "--vars", VARS])
    assert q(url, "select * from intermediate.int_campaign_sends order by send_key") == incremental


def scipy_stats(a_n, a_s, b_n, b_s, a_sends, b_sends, share_a):
    """The A/B statistics computed independently with scipy: the z-test p-value as the 2x2
    chi-square test without continuity correction (the same test), SRM by chisquare, the
    Bayesian quantities by numerical integration over the exact Beta posteriors."""
    from scipy import integrate, stats

    out = {}
    if min(a_n, b_n) > 0 and 0 < a_s + b_s < a_n + b_n:
        table = [[a_s, a_n - a_s], [b_s, b_n - b_s]]
        out["p_value"] = stats.chi2_contingency(table, correction=False).pvalue
    else:
        out["p_value"] = None
    pa, pb = stats.beta(1 + a_s, 1 + a_n - a_s), stats.beta(1 + b_s, 1 + b_n - b_s)
    a_next = stats.beta(2 + a_s, 1 + a_n - a_s)  # x f_A(x) = E[p_A] f_{A+1}(x)
    b_next = stats.beta(2 + b_s, 1 + b_n - b_s)
    out["chance_b_beats_a"] = integrate.quad(lambda x: pb.pdf(x) * pa.cdf(x), 0, 1, limit=200)[0]
    out["expected_loss_b"] = integrate.quad(  # E[max(pA - pB, 0)]
        lambda y: pb.pdf(y) * (pa.mean() * a_next.sf(y) - y * pa.sf(y)), 0, 1, limit=200
    )[0]
    out["expected_loss_a"] = integrate.quad(
        lambda y: pa.pdf(y) * (pb.mean() * b_next.sf(y) - y * pb.sf(y)), 0, 1, limit=200
    )[0]
    n = a_sends + b_sends
    out["srm_p_value"] = stats.chisquare(
        [a_sends, b_sends], [n * share_a, n * (1 - share_a)]
    ).pvalue
    return out


# stated tolerances: the normal CDF in SQL (A&S 7.1.26) is within 1e-7; the Bayesian
# quantities use the normal approximation of the Beta posteriors
TOLERANCE = {
    "p_value": 1e-6,
    "srm_p_value": 1e-6,
    "chance_b_beats_a": 0.005,
    "expected_loss_a": 0.001,
    "expected_loss_b": 0.001,
}


def test_ab_statistics_equal_scipy_and_a_winner_needs_sample_srm_and_significance(world):
    url, planter, outcomes = world["url"], world["planter"], world["outcomes"]
    with psycopg.connect(url) as conn:
        cur = conn.execute("select * from marketing.ab_tests")
        cols = [d.name for d in cur.description]
        got = {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}
    assert set(got) == {d.test_name for d in DECLARED} | {"late"}
    metric_flag = {"open": "human", "click": "click"}
    states = set()
    for d in DECLARED:
        row = got[d.test_name]
        arms = {}
        for arm, variant in (("a", d.variant_a), ("b", d.variant_b)):
            sends = [
                s
                for s in planter.sends
                if s.campaign == "Alpha"
                and s.variant == variant
                and (d.campaign_step is None or s.step == d.campaign_step)
            ]
            delivered = [s for s in sends if s.flags["delivered"]]
            if d.primary_metric == "reply":
                wins = sum(outcomes.get(s.msg, {}).get("replied", 0) for s in delivered)
            else:
                wins = sum(s.flags[metric_flag[d.primary_metric]] for s in delivered)
            arms[arm] = (len(sends), len(delivered), wins)
            assert (row[f"{arm}_n"], row[f"{arm}_successes"]) == (len(delivered), wins)
            assert float(row[f"{arm}_rate"]) == pytest.approx(wins / len(delivered), abs=1e-12)
        want = scipy_stats(
            arms["a"][1],
            arms["a"][2],
            arms["b"][1],
            arms["b"][2],
            arms["a"][0],
            arms["b"][0],
            d.expected_share_a,
        )
        for key, tol in TOLERANCE.items():
            assert float(row[key]) == pytest.approx(want[key], abs=tol), (d.test_name, key)
        if min(arms["a"][1], arms["b"][1]) < d.min_sample_per_arm:
            state = "collecting"
        elif want["srm_p_value"] < 0.001:
            state = "sample_ratio_mismatch"
        elif want["p_value"] >= d.alpha:
            state = "no_difference"
        else:
            state = "winner"
        assert row["state"] == state, (d.test_name, row["state_reason"])
        rate_a, rate_b = (arms[k][2] / arms[k][1] for k in "ab")
        assert row["winner"] == (None if state != "winner" else ("B" if rate_b > rate_a else "A"))
        assert row["variant_b"]["n"] == arms["b"][1]
        states.add(state)
    assert {"collecting", "sample_ratio_mismatch", "winner"} <= states
    assert got["reply_big"]["state_reason"].startswith("too few sends")
    late = got["late"]
    assert (late["a_n"], late["b_n"], late["state"]) == (0, 0, "collecting")
    per_arm = q(
        url,
        "select template_id, n, successes, chance_to_win from marketing.performance_metrics"
        " where test_name = 'subject_open' order by 1",
    )
    row = got["subject_open"]
    assert [r[:3] for r in per_arm] == [
        ("A", row["a_n"], row["a_successes"]),
        ("B", row["b_n"], row["b_successes"]),
    ]
    assert float(per_arm[0][3]) + float(per_arm[1][3]) == pytest.approx(1)


def test_report_campaign_prints_the_funnel_and_the_ab_states(world, capsys):
    capsys.readouterr()
    assert main(["report", "campaign", "Alpha"]) == 0
    out = capsys.readouterr().out
    total = mart(world["url"])[("campaign", "Alpha", None, None)]
    assert f"sends{total['sends']:>24}" in out.replace(" " * 0, "")
    assert f"unique_human_opens{total['unique_human_opens']:>11}" in out
    assert "A/B reply_big (reply): collecting - too few sends" in out
    assert "A/B srm_check (open): sample_ratio_mismatch" in out
    assert main(["report", "campaign", "No Such"]) == 2


def test_follow_up_queue_has_silent_members_below_the_step_limit_and_not_suppressed(world):
    url, planter, outcomes = world["url"], world["planter"], world["outcomes"]
    with psycopg.connect(url) as conn:
        ids = dict(conn.execute("select email, contact_id from people.contact"))
        # the known contacts join Alpha (membership is what the queue follows)
        for cid in ids.values():
            conn.execute(
                "insert into raw_campaigns.campaign_changes (campaign_id, contact_id, action,"
                " source) values (%s, %s, 'add', 'test')",
                (world["alpha"], cid),
            )
        campaigns.suppress(conn, [campaigns.Suppression("a001@alpha.test", "manual", "test")])
    latest: dict[str, Send] = {}
    for s in planter.sends:
        if s.campaign == "Alpha" and s.email in ids:
            latest[s.email] = s
    replied = {e for e, s in latest.items() if outcomes.get(s.msg, {}).get("replied")}
    want = sorted(
        (ids[e], int(s.step) + 1)
        for e, s in latest.items()
        if e not in replied
        and e != "a001@alpha.test"
        and not (s.flags["hard"] or s.flags["unsub"] or s.flags["complaint"])
        and int(s.step) < 3
    )
    got = q(
        url,
        "select contact_id, next_step from marketing.follow_up_queue"
        " where campaign_id = %s order by 1",
        world["alpha"],
    )
    assert got == want and len(want) > 10


# ---------------------------------------------------------------------------- BIT (issue 20, part 3)
BIT_SELECT = "+contact_timeline +contact_ltv +relationship_graph"
EXTRA_PEOPLE = ["guest@alpha.test", "friend@alpha.test", "gone@alpha.test"]
GUEST_BOOKED = T0 + timedelta(days=1)
GONE_WROTE = T0 + timedelta(days=2)
# the guide's example query: high-value contacts, with when we were last in touch
HIGH_VALUE = """
select c.full_name, l.total_revenue, l.deals_closed, l.last_contact_at
from marketing.contact_ltv l
join people.contact c using (contact_id)
where l.total_revenue > 0
order by l.total_revenue desc, l.last_contact_at desc
limit 20
"""
DEALS_CSV = """deal_id,contact_id,contact_email,company_name,amount,currency,stage,closed_won,closed_at
D-1,,a000@alpha.test,Alpha Test Co,12000.50,USD,closed_won,,2026-11-25
D-2,,a000@alpha.test,Alpha Test Co,1000,USD,negotiation,,
D-3,,B001@Alpha.test,Alpha Test Co,500,usd,Won,,2026-11-26T10:00:00+01:00
D-4,,b002@alpha.test,,700,EUR,closed_won,,2026-11-27
D-5,,b002@alpha.test,,300,USD,closed_lost,false,2026-11-27
D-6,,nobody@else.test,,999,USD,closed_won,,2026-11-27
D-7,,a003@alpha.test,,"12,000",USD,closed_won,,2026-11-27
,,a003@alpha.test,,100,USD,closed_won,,2026-11-27
D-9,,a004@alpha.test,,250,USD,closed_won,yes,2026-13-01
"""
# a later export: D-2 was won since (a restatement: still one deal), D-1 unchanged
DEALS_JSONL = (
    '{"deal_id": "D-2", "contact_email": "a000@alpha.test", "company_name": "Alpha Test Co",'
    ' "amount": "1500", "currency": "USD", "stage": "closed_won", "closed_at": "2026-11-28"}\n'
)
# what the deals should give, worked out by hand from the files above
DEALS_WANT = {  # email: (deals_closed, revenue in USD, other-currency deals)
    "a000@alpha.test": (2, 13500.5, 0),
    "b001@alpha.test": (1, 500, 0),
    "b002@alpha.test": (1, 0, 1),
}


def plant_bit(url: str, tmp, alpha: int, employers: dict[str, str]) -> None:
    """For the BIT marts: deals through `outreach load intake --deals` (bad rows
    quarantined, a reload and a restatement converge) and three more people - a guest
    brought to a booking, the friend they brought, and one suppressed for GDPR who wrote
    in. None of them has a campaign send, so the campaign figures above stay as planted."""
    from loaders.intake.run import load_intake_files

    (tmp / "more_people.csv").write_text(
        "full_name,email,company_name\n"
        + "".join(f"{e.split('@')[0].title()} Person,{e},{employers[e]}\n" for e in EXTRA_PEOPLE)
    )
    load_intake_files(None, tmp / "more_people.csv", progress=lambda _m: None)
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into raw_events.booking_events (event_key, source, event_type, email,"
            " occurred_at, scheduled_start, payload) values ('calendly:guest', 'calendly',"
            " 'invitee.created', 'guest@alpha.test', %s, %s, %s)",
            (
                GUEST_BOOKED,
                GUEST_BOOKED + timedelta(days=2),
                json.dumps(  # Calendly v2: the Event resource's event_guests
                    {
                        "event": "invitee.created",
                        "payload": {
                            "uri": "https://api.calendly.com/invitees/guest",
                            "email": "guest@alpha.test",
                            "scheduled_event": {
                                "event_guests": [
                                    {
                                        "email": "Friend@Alpha.test",
                                        "created_at": "2026-11-21T09:00:00.000000Z",
                                        "updated_at": "2026-11-21T09:00:00.000000Z",
                                    }
                                ]
                            },
                        },
                    }
                ),
            ),
        )
        campaigns.record_messages(
            conn, [campaigns.Message("inbound", GONE_WROTE, alpha, email="gone@alpha.test")], "test"
        )
        campaigns.suppress(conn, [campaigns.Suppression("gone@alpha.test", "gdpr", "test")])
    deals = tmp / "deals.csv"
    deals.write_text(DEALS_CSV)
    assert main(["load", "intake", "--deals", str(deals)]) == 0
    loaded = q(url, "select count(*) from raw_intake.deals")
    assert main(["load", "intake", "--deals", str(deals)]) == 0  # again: nothing new
    assert q(url, "select count(*) from raw_intake.deals") == loaded == [(6,)]
    (tmp / "deals_later.jsonl").write_text(DEALS_JSONL)
    assert main(["load", "intake", "--deals", str(tmp / "deals_later.jsonl")]) == 0


@pytest.fixture(scope="module")
def bit(world):
    """The BIT marts as the world's build made them, and what was planted then (later
    tests plant more, and do not rebuild these marts)."""
    return {"url": world["url"], "planted": world["bit_planted"], "employers": world["employers"]}


def test_deals_intake_quarantines_bad_rows_naming_file_row_and_field(bit):
    rows = q(
        bit["url"],
        "select source_file, row_number, reason, field, detail from raw_intake.quarantine"
        " where entity = 'deal' order by row_number",
    )
    assert [r[:4] for r in rows] == [
        ("deals.csv", 7, "invalid_amount", "amount"),
        ("deals.csv", 8, "missing_required_field", "deal_id"),
        ("deals.csv", 9, "invalid_date", "closed_at"),
    ]
    assert "'12,000'" in rows[0][4] and "2026-13-01" in rows[2][4]


def expected_ltv(planted: dict) -> dict[str, dict]:
    """contact_ltv recomputed from what the tests planted, per email."""
    out: dict[str, dict] = {}

    def row(email: str) -> dict:
        return out.setdefault(
            email,
            dict(sends=0, replies=0, meetings=0, deals=0, revenue=0.0, other=0, last=None),
        )

    def touch(email: str, at: datetime) -> None:
        r = row(email)
        r["last"] = at if r["last"] is None else max(r["last"], at)

    for s in planted["sends"]:
        row(s.email)["sends"] += 1
        touch(s.email, s.at)
    for email, last_reply in planted["replied"].items():
        row(email)["replies"] += 2
        touch(email, last_reply)
    for email, at in planted["bookings"]:
        row(email)["meetings"] += 1
        touch(email, at)
    for email, at in planted["handoffs"]:
        touch(email, at)
    row("gone@alpha.test")["replies"] += 1
    touch("gone@alpha.test", GONE_WROTE)
    for email, (deals, revenue, other) in DEALS_WANT.items():
        row(email).update(deals=deals, revenue=revenue, other=other)
    return out


def test_contact_ltv_equals_an_independent_count_and_revenue_does_not_fan_out(bit):
    url = bit["url"]
    got = {
        r[0]: r[1:]
        for r in q(
            url,
            "select c.email, l.total_emails_sent, l.total_replies, l.meetings_booked,"
            " l.deals_closed, l.total_revenue, l.other_currency_deals, l.last_contact_at"
            " from marketing.contact_ltv l join people.contact c using (contact_id)",
        )
    }
    want = expected_ltv(bit["planted"])
    # one row per contact, with activity or not
    assert set(got) == {e for (e,) in q(url, "select email from people.contact")}
    for email, (sends, replies, meetings, deals, revenue, other, last) in got.items():
        w = want.get(
            email, dict(sends=0, replies=0, meetings=0, deals=0, revenue=0, other=0, last=None)
        )
        assert (sends, replies, meetings, deals, float(revenue), other, last) == (
            w["sends"],
            w["replies"],
            w["meetings"],
            w["deals"],
            pytest.approx(w["revenue"]),
            w["other"],
            w["last"],
        ), email
    assert len(got) == 2 * CONTACTS_PER_VARIANT + len(EXTRA_PEOPLE)
    # totals equal the staged deals (latest row per deal, matched), nothing fans out
    assert q(url, "select sum(deals_closed), sum(total_revenue) from marketing.contact_ltv") == q(
        url,
        "select count(*), sum(amount) filter (where currency = 'USD') from ("
        " select distinct on (deal_id) * from staging.stg_intake__deals"
        " order by deal_id, loaded_at desc, source_row_number desc) d"
        " where is_won and (contact_email in (select email from people.contact)"
        " or contact_id_given in (select contact_id from people.contact))",
    )
    top = q(url, HIGH_VALUE)
    assert [(r[0], float(r[1]), r[2]) for r in top] == [
        ("Person a000", 13500.5, 2),
        ("Person b001", 500.0, 1),
    ]
    assert top[0][3] == want["a000@alpha.test"]["last"]


TIMELINE_TYPES = {
    "processed": "email_queued",
    "delivered": "email_delivered",
    "bounce": "email_bounced",
    "click": "email_clicked",
    "unsubscribe": "email_unsubscribed",
    "spamreport": "email_complained",
}


def test_contact_timeline_is_every_planted_event_in_order_and_leaks_no_personal_data(bit):
    from collections import Counter

    url, planted = bit["url"], bit["planted"]
    want: dict[str, list] = {}
    for email, kind, at, machine in planted["log"]:
        if kind == "open":
            kind = "email_opened_machine" if machine else "email_opened_human"
        want.setdefault(email, []).append((TIMELINE_TYPES.get(kind, kind), at))
    for email, last_reply in planted["replied"].items():
        want.setdefault(email, []).extend(
            [("message_replied", last_reply - timedelta(hours=1)), ("message_replied", last_reply)]
        )
    for email, at in planted["bookings"]:
        want.setdefault(email, []).append(("meeting_booked", at))
    for email, at in planted["handoffs"]:
        want.setdefault(email, []).append(("handed_off", at))
    # the verifier's checks, stamped when their answers arrived (within the planted window)
    for email in planted["checked"]:
        want.setdefault(email, []).append(("email_verified", None))
    rows = q(
        url,
        "select c.email, t.event_seq, t.event_type, t.event_timestamp, t.source, t.source_id"
        " from marketing.contact_timeline t join people.contact c using (contact_id)"
        " order by c.email, t.event_seq",
    )
    got: dict[str, list] = {}
    for email, seq, kind, at, _source, _id in rows:
        got.setdefault(email, []).append((seq, kind, at))
    known = {e for (e,) in q(url, "select email from people.contact")}
    assert set(got) == known - {"gone@alpha.test"}  # every contact but the GDPR-suppressed
    for email, events in got.items():
        assert [seq for seq, _k, _a in events] == list(range(1, len(events) + 1))
        times = [a for _s, _k, a in events]
        assert times == sorted(times), email  # ordered by time, seq breaks ties
        kinds = Counter(k for _s, k, _a in events)
        assert kinds.pop("intake_loaded") == 1, email
        assert kinds == Counter(k for k, _a in want.get(email, [])), email
        timed = {"intake_loaded", "email_verified"}  # stamped by the loaders' clocks
        assert sorted(a for _s, k, a in events if k not in timed) == sorted(
            a for k, a in want.get(email, []) if k not in timed
        )
        for _s, k, a in events:
            if k == "email_verified":
                lo, hi = planted["checked"][email]
                assert lo <= a <= hi, (email, a)
    assert sum(len(v) for v in want.values() if v) > 1000
    # ids and attributes only: no address, name or message text anywhere in event_data
    assert q(
        url,
        "select count(*) from marketing.contact_timeline where event_data::text ~ '@|Person|Re'",
    ) == [(0,)]


def test_relationship_graph_colleagues_once_per_pair_and_a_guest_is_a_referral(bit):
    url = bit["url"]
    ids = dict(q(url, "select email, contact_id from people.contact"))
    assert set(ids) == set(bit["employers"])  # every planted person, none other
    rows = q(
        url,
        "select contact_a_id, contact_b_id, relationship_type, discovered_at"
        " from marketing.relationship_graph",
    )
    staff: dict[str, list[int]] = {}  # the planted employers, the GDPR-suppressed left out
    for email, company in bit["employers"].items():
        if email != "gone@alpha.test":
            staff.setdefault(company, []).append(ids[email])
    want_colleagues = {
        (a, b)
        for members in staff.values()
        for a in members
        for b in members
        if a < b  # pairs within a company only, each once
    }
    assert {(a, b) for a, b, t, _d in rows if t == "colleague"} == want_colleagues
    sizes = [len(m) for m in staff.values()]  # Alpha (with the guest and the friend), Quiet
    assert len(sizes) == 2 and len(want_colleagues) == sum(n * (n - 1) // 2 for n in sizes) > 1800
    pair = tuple(sorted((ids["guest@alpha.test"], ids["friend@alpha.test"])))
    assert [r for r in rows if r[2] != "colleague"] == [(*pair, "referral", GUEST_BOOKED)]


MV_STATUS = {"ok": "green", "catch_all": "yellow", "unknown": "yellow"}
MV_STATUS |= {"invalid": "red", "disposable": "red"}


def weights() -> dict[tuple[str, str], float]:
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "seeds" / "lead_score_weights.csv"
    with path.open() as f:
        return {(r["part"], r["item"]): float(r["points"]) for r in csv.DictReader(f)}


def expected_scores(world, as_of: datetime, half_life: float) -> dict[int, dict]:
    """lead_scores recomputed from what the test planted: the sends and outcomes (engagement),
    the titles (seniority), the stand-in verifier's results (verification), the signals of
    the contact's employer with their emission times (intent), the suppressions (manual, and
    plant_bit's GDPR one). One row per planted person, plant_bit's extra people included
    (no title, no send, not verified)."""
    url, w = world["url"], weights()
    ids = dict(q(url, "select email, contact_id from people.contact"))
    signals = q(
        url,
        "select c.company_name, s.reason, s.created_at from bit.signal s"
        " join company.company c using (company_id)",
    )
    verified = set(world["bit_planted"]["checked"])
    suppressed_emails = {"a001@alpha.test", "gone@alpha.test"}
    out = {}
    for n, (email, company) in enumerate(world["employers"].items()):
        sends = [s for s in world["planter"].sends if s.email == email and s.at <= as_of]
        replies = sum(1 for s in sends if world["outcomes"].get(s.msg, {}).get("replied"))
        clicks = sum(s.flags["click"] for s in sends)
        human = sum(s.flags["human"] for s in sends)
        machine = sum(s.flags["machine"] for s in sends)
        engagement = (
            replies * w["engagement", "replied"]
            + clicks * w["engagement", "clicked"]
            + human * w["engagement", "human_opened"]
            + machine * w["engagement", "machine_opened"]
        )
        intent = sum(
            w.get(("intent", reason), 0.0)
            * 0.5 ** ((as_of - created).total_seconds() / 86400 / half_life)
            for name, reason, created in signals
            if name == company and created <= as_of
        )
        status = MV_STATUS[classify(email)[0]] if email in verified else "gray"
        rank = 0 if email in EXTRA_PEOPLE else TITLES[n % len(TITLES)][1]
        seniority = rank * w["seniority", "level"]
        verification = w.get(("verification", status), 0.0)
        suppressed = email in suppressed_emails
        total = intent + engagement + seniority + verification
        out[ids[email]] = {
            "lead_score": 0.0 if suppressed else total,
            "intent_points": intent,
            "engagement_points": engagement,
            "seniority_points": seniority,
            "verification_points": verification,
            "is_suppressed": suppressed,
            "replies": replies,
            "clicks": clicks,
            "human_opens": human,
            "machine_opens": machine,
            "machine_open_points": 0.0,
            "email_status": status,
        }
    return out


def build_scores(world, as_of: datetime, half_life: float, also: str = "") -> dict[int, dict]:
    with psycopg.connect(world["url"]) as conn:  # the follow-up test suppresses it too
        campaigns.suppress(conn, [campaigns.Suppression("a001@alpha.test", "manual", "test")])
    stamp = as_of.strftime("%Y-%m-%d %H:%M:%S+00")
    dbt(
        world["url"],
        [
            "run",  # their dbt tests ran in the module's build
            "--select",
            f"lead_scores lead_score_calibration {also}",
            "--vars",
            json.dumps({"as_of": stamp, "lead_score_half_life_days": half_life}),
        ],
    )
    with psycopg.connect(world["url"]) as conn:
        cur = conn.execute("select * from marketing.lead_scores")
        cols = [d.name for d in cur.description]
        return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}


def assert_scores(got: dict[int, dict], want: dict[int, dict]) -> None:
    assert set(got) == set(want)
    for cid, row in want.items():
        for col, value in row.items():
            g = got[cid][col]
            if isinstance(value, float):
                assert float(g) == pytest.approx(value, abs=1e-9), (cid, col, g, value)
            else:
                assert g == value, (cid, col, g, value)


@pytest.fixture(scope="module")
def scored(world, tmp_path_factory):
    """lead_scores and lead_score_calibration built once, as of 10 days after the signals
    were emitted (a build's clock), with a 7-day half-life; campaign_performance with them,
    the run reported to a Dagster instance (as ``outreach dbt`` reports to ``outreach ui``'s)."""
    (created,) = q(world["url"], "select max(created_at) from bit.signal")[0]
    assert created is not None  # Alpha's renewal window signal
    as_of = (created + timedelta(days=10)).replace(microsecond=0)
    home = tmp_path_factory.mktemp("dagster_home")
    saved = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "OUTREACH_DAGSTER_REPORT")}
    os.environ.update(DAGSTER_HOME=str(home), OUTREACH_DAGSTER_REPORT="1")
    try:
        got = build_scores(world, as_of, half_life=7, also="campaign_performance")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    # what was planted when it was built (a later test may plant more)
    outcomes, latest = world["outcomes"], world["latest"]
    return {
        "as_of": as_of,
        "created": created,
        "got": got,
        "want": expected_scores(world, as_of, half_life=7),
        "handed": {e for e, s in latest.items() if outcomes.get(s.msg, {}).get("handed_off")},
        "performance": expected(world["planter"].sends, outcomes),
        "dagster_home": home,
    }


def test_lead_score_parts_equal_an_independent_computation_and_decay_with_signal_age(world, scored):
    as_of, created, want = scored["as_of"], scored["created"], scored["want"]
    assert_scores(scored["got"], want)
    parts = list(want.values())
    # the planted data exercises every part: decayed intent (about 10 days, half-life 7)
    decayed = 20 * 0.5 ** ((as_of - created).total_seconds() / 86400 / 7)
    assert {round(r["intent_points"], 9) for r in parts} == {0.0, round(decayed, 9)}
    assert 7.4 < decayed < 7.5
    assert any(r["replies"] for r in parts) and any(r["clicks"] for r in parts)
    assert any(r["machine_opens"] and not r["human_opens"] for r in parts)
    assert {r["email_status"] for r in parts} == {"green", "yellow", "red", "gray"}
    a001 = scored["got"][
        dict(q(world["url"], "select email, contact_id from people.contact"))["a001@alpha.test"]
    ]
    assert a001["lead_score"] == 0 and a001["seniority_points"] > 0
    # a reply outweighs any number of clicks a campaign gives, a click any human open
    w = weights()
    assert w["engagement", "replied"] > 4 * w["engagement", "clicked"]
    assert w["engagement", "clicked"] > 4 * w["engagement", "human_opened"]
    assert w["engagement", "machine_opened"] == 0


def test_lead_scores_as_of_before_the_signals_count_no_intent(world):
    # the module's first build ran as of AS_OF, before its signals were emitted (build clock)
    # one row per planted person (plant_bit's extra people too)
    assert world["scores_at_as_of"] == (len(world["employers"]), 0.0, 0)


def test_lead_score_calibration_counts_outcomes_by_score_decile(world, scored):
    want, handed = scored["want"], scored["handed"]
    emails = {v: k for k, v in q(world["url"], "select email, contact_id from people.contact")}
    booked = {}
    for email, _at in world["bit_planted"]["bookings"]:  # every booking: the guest's too
        booked[email] = booked.get(email, 0) + 1
    # Postgres ntile(10) over (lead_score, contact_id): the first n % 10 buckets one larger
    order = sorted(want, key=lambda c: (want[c]["lead_score"], c))
    size, extra = divmod(len(order), 10)
    deciles, start = [], 0
    for d in range(1, 11):
        n = size + (d <= extra)
        members = order[start : start + n]
        start += n
        b = sum(1 for c in members if emails[c] in booked)
        h = sum(1 for c in members if emails[c] in handed)
        scores = [want[c]["lead_score"] for c in members]
        deciles.append(
            (
                d,
                n,
                pytest.approx(min(scores)),
                pytest.approx(max(scores)),
                b,
                h,
                sum(booked.get(emails[c], 0) for c in members),
                pytest.approx(b / n),
                pytest.approx(h / n),
            )
        )
    rows = q(
        world["url"],
        "select score_decile, contacts, min_score, max_score, contacts_booked,"
        " contacts_handed_off, meetings_booked, booked_rate, handoff_rate"
        " from marketing.lead_score_calibration order by score_decile",
    )
    assert rows == deciles
    # the score includes replies, and bookings follow replies: the top decile books most
    assert rows[-1][4] > rows[0][4] and sum(r[4] for r in rows) == len(booked)


def test_the_campaign_performance_materialization_in_dagster_has_row_count_and_funnel(scored):
    import dagster as dg

    from orchestration.metadata import funnel_markdown

    instance = dg.DagsterInstance.from_config(str(scored["dagster_home"]))
    perf = dg.AssetKey(["marketing", "campaign_performance"])
    event = instance.get_latest_materialization_event(perf)
    assert event is not None and event.asset_materialization is not None
    meta = event.asset_materialization.metadata
    want = scored["performance"]  # as planted when it was built
    campaign_rows = {k[1]: v for k, v in want.items() if k[0] == "campaign"}
    assert meta["dagster/row_count"].value == len(want)
    stages = {
        "sent": "sends",
        "delivered": "delivered",
        "human_opened": "unique_human_opens",
        "clicked": "unique_clicks",
        "replied": "replies",
        "booked": "meetings_booked",
        "handed_off": "handoffs",
    }
    for stage, column in stages.items():
        total = sum(r[column] for r in campaign_rows.values())
        assert meta[f"funnel/{stage}"].value == total, stage
    chart = meta["funnel_chart"]
    assert isinstance(chart, dg.MarkdownMetadataValue)
    by_size = sorted(campaign_rows.items(), key=lambda kv: -kv[1]["sends"])
    assert chart.value == funnel_markdown(
        [(name, *(r[c] for c in stages.values())) for name, r in by_size]
    )
    alpha = campaign_rows["Alpha"]
    share = 100 * alpha["delivered"] / alpha["sends"]
    assert f"| delivered | {alpha['delivered']} | {share:.1f} % | `" in chart.value
    assert "**Alpha**" in chart.value and "**Beta**" in chart.value
    assert instance.get_latest_materialization_event(dg.AssetKey(["marketing", "lead_scores"]))


def test_the_guides_best_segments_query_runs_as_the_readme_shows_it(world):
    """The guide's "best segments by reply rate" (the README's block, run as written):
    every variant with 100 deliveries or more, best reply rate first, as recomputed from
    the planted sends."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    after = readme[readme.index('"best segments by reply rate"') :]
    sql = after[
        after.index("```sql") + len("```sql") : after.index("```", after.index("```sql") + 6)
    ]
    got = q(world["url"], sql)
    want = expected(world["planter"].sends, world["outcomes"])
    segments = [
        (campaign, step, variant, row["sends"], row["reply_rate"])
        for (grain, campaign, step, variant), row in want.items()
        if grain == "variant" and row["delivered"] >= 100
    ]
    assert segments, "the planted data has variants with 100 deliveries"
    by_key = {tuple(str(v) for v in r[:3]): r[3:] for r in got}
    assert len(by_key) == len(got) == len(segments)
    for campaign, step, variant, sends, reply_rate in segments:
        assert by_key[(str(campaign), str(step), str(variant))] == (
            sends,
            pytest.approx(reply_rate),
        )
    rates = [r[4] for r in got]
    assert rates == sorted(rates, reverse=True)  # best first
