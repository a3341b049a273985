"""An OpenOutreach-shaped ``crm.db`` (DjangoCRM tables in SQLite) with a planted pattern.

The shapes follow OpenOutreach (``linkedin/db/crm_profiles.py``, ``setup_crm.py``: the
stages Discovered/Enriched/Pending/Connected/Completed/Failed/Ignored and the closing reasons
Completed/Failed/Ignored; one Lead per profile URL with the parsed profile as JSON in
``description``; one Deal per Lead with ``next_step`` JSON such as ``{"backoff_hours": N}``)
and DjangoCRM's models (``crm/models/deal.py``: ``Deal.change_stage_data`` appends
``f"{date} - {stage}\\n"`` to ``stages_dates``; OpenOutreach calls it on every
``set_profile_state``, not when it creates the deal at Discovered, so the history starts
with the first change after discovery, and a state set twice is written twice). Only the columns the warehouse reads (and
the usual foreign keys) are created; Django's type names are kept (``datetime``, ``bool``).

Determinism: every profile's whole future is drawn from ``(seed, lead id)`` against a fixed
``start``; ``today`` only cuts it. So generating the same seed again with a later ``today``
is the same CRM some days on: new leads, some pending requests accepted, and ``update_date``
moved only where something happened (what an incremental load must pick up).

The planted acceptance pattern (``accept_logit``): second-degree profiles, profiles with a
summary and people less than 18 months into their current role accept more; students and
profiles with a single position accept less; "sales"/"founder" in the headline help a
little (what a keyword scorer can see). A handful of deals carry a stage change the state
machine forbids (Discovered straight to Connected, Completed back to Pending).
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

__all__ = ["STAGES", "CrmSpec", "accept_logit", "generate_crm"]

# (id, name, index_number, default, success_stage) as OpenOutreach's setup_crm creates them
STAGES = [
    (1, "Discovered", 1, True, False),
    (2, "Enriched", 2, False, False),
    (3, "Pending", 3, False, False),
    (4, "Connected", 4, False, False),
    (5, "Completed", 5, False, True),
    (6, "Failed", 6, False, False),
    (7, "Ignored", 7, False, False),
]
CLOSING_REASONS = [(1, "Completed", 1, True), (2, "Failed", 2, False), (3, "Ignored", 3, False)]
STAGE_ID = {name: sid for sid, name, *_ in STAGES}
REASON_ID = {"Completed": 1, "Failed": 2, "Ignored": 3}

DDL = """
create table crm_stage (
    id integer primary key autoincrement, name varchar(70) not null,
    index_number smallint unsigned not null, "default" bool not null,
    success_stage bool not null, department_id integer
);
create table crm_closingreason (
    id integer primary key autoincrement, name varchar(50) not null,
    index_number smallint unsigned not null, success_reason bool not null,
    department_id integer
);
create table crm_lead (
    id integer primary key autoincrement, first_name varchar(100) not null,
    last_name varchar(100) not null, title varchar(100) not null, website varchar(200) not null,
    email varchar(254) not null, city_name varchar(50) not null,
    company_name varchar(200) not null, description text not null,
    disqualified bool not null, contact_id integer, lead_source_id integer,
    owner_id integer, department_id integer,
    creation_date datetime not null, update_date datetime not null
);
create table crm_deal (
    id integer primary key autoincrement, name varchar(250) not null,
    next_step varchar(250) not null, next_step_date date not null, description text not null,
    workflow text not null, stage_id integer references crm_stage (id),
    stages_dates text not null, closing_date date, win_closing_date datetime,
    ticket varchar(16) not null unique, lead_id integer references crm_lead (id),
    active bool not null, relevant bool not null,
    closing_reason_id integer references crm_closingreason (id),
    owner_id integer, department_id integer,
    creation_date datetime not null, update_date datetime not null
);
create index crm_deal_lead_id on crm_deal (lead_id);
"""

FIRST = [
    "ana",
    "ben",
    "carla",
    "david",
    "elena",
    "farid",
    "greta",
    "hugo",
    "irene",
    "jonas",
    "kira",
    "liam",
    "maria",
    "nico",
    "olga",
]
FIRST += ["paolo", "quinn", "rosa", "sven", "tara", "umar", "vera", "wim", "xenia", "yusuf", "zoe"]
LAST = [
    "meyer",
    "rossi",
    "novak",
    "silva",
    "kowalski",
    "jansen",
    "dubois",
    "berg",
    "costa",
    "lind",
    "haas",
    "moreau",
]
CITIES = ["Berlin", "Milan", "Lisbon", "Warsaw", "Amsterdam", "Lyon", "Vienna", "Madrid"]
INDUSTRIES = ["Software Development", "Financial Services", "Staffing and Recruiting"]
INDUSTRIES += ["Hospitals and Health Care", "Higher Education", "Marketing Services"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Vandelay"]
COMPANIES += ["Soylent", "Tyrell", "Cyberdyne", "Wonka", "Massive", "Pied Piper"]
TITLES = ["Sales Director", "Account Executive", "Founder", "Head of Growth", "CFO", "CEO"]
TITLES += ["Software Engineer", "HR Manager", "Marketing Manager", "Data Analyst", "Nurse"]
TITLES += ["Student", "Teacher", "Operations Manager", "SDR", "Product Manager"]
SCHOOLS = ["TU Munich", "Bocconi", "Sorbonne", "KTH", "Warsaw University"]
DEGREES = ["BSc", "MSc", "MBA", "PhD", ""]
FIELDS = ["Economics", "Computer Science", "Marketing", "Nursing", ""]


@dataclass(frozen=True)
class CrmSpec:
    """What to generate: ``leads`` profiles created evenly over ``weeks`` weeks from
    ``start``; events after ``today`` (default: the end of the span) are not written yet."""

    leads: int = 2000
    seed: int = 7
    start: date = date(2026, 1, 5)
    weeks: int = 16
    today: date | None = None
    slug_prefix: str = "oo"

    @property
    def cutoff(self) -> date:
        return self.today or self.start + timedelta(weeks=self.weeks)


def accept_logit(profile: dict[str, Any], headline: str, as_of: date) -> float:
    """The planted log-odds that a connection request to this profile is accepted."""
    positions = profile.get("positions") or []
    current = [p for p in positions if p.get("end_year") is None]
    tenure = 999.0
    if current:
        c = current[0]
        tenure = (as_of.year - c["start_year"]) * 12 + as_of.month - (c.get("start_month") or 1)
    h = headline.lower()
    logit = -1.6
    logit += 1.6 if profile.get("connection_degree") == 2 else 0.0
    logit += 0.9 if profile.get("summary") else 0.0
    logit += 1.4 if tenure < 18 else 0.0
    logit -= 1.3 if len(positions) <= 1 else 0.0
    logit -= 1.5 if "student" in h else 0.0
    logit += 0.5 if ("sales" in h or "founder" in h) else 0.0
    return logit


def _profile(rng: random.Random, created: date) -> tuple[dict[str, Any], str, str]:
    """A parsed profile as OpenOutreach stores it in ``crm_lead.description``; its headline
    and current company."""
    title = rng.choice(TITLES)
    n_pos = rng.choice([1, 1, 2, 2, 3, 3, 4, 5])
    positions, end = [], (created.year, created.month)
    for k in range(n_pos):
        months = rng.randint(4, 70)
        y, m = divmod(end[0] * 12 + end[1] - 1 - months, 12)
        start = (y, m + 1)
        positions.append(
            {
                "title": title if k == 0 else rng.choice(TITLES),
                "company_name": rng.choice(COMPANIES),
                "location": rng.choice(CITIES) if rng.random() < 0.7 else None,
                "description": "Led a team; grew the pipeline." if rng.random() < 0.4 else None,
                "start_year": start[0],
                "start_month": start[1],
                "end_year": None if k == 0 else end[0],
                "end_month": None if k == 0 else end[1],
            }
        )
        end = start
    educations = [
        {
            "school_name": rng.choice(SCHOOLS),
            "degree": rng.choice(DEGREES),
            "field_of_study": rng.choice(FIELDS),
        }
        for _ in range(rng.choice([0, 1, 1, 2, 3]))
    ]
    city = rng.choice(CITIES)
    headline = f"{title} at {positions[0]['company_name']}"
    profile = {
        "headline": headline,
        "summary": "I help B2B teams grow revenue." if rng.random() < 0.5 else "",
        "location_name": f"{city}, Europe",
        "industry": {"name": rng.choice(INDUSTRIES)} if rng.random() < 0.85 else None,
        "geo": {"defaultLocalizedNameWithoutCountryName": city} if rng.random() < 0.8 else None,
        "connection_degree": 2 if rng.random() < 0.6 else 3,
        "positions": positions,
        "educations": educations,
    }
    return profile, headline, positions[0]["company_name"]


def _history(rng: random.Random, created: date, p_accept: float) -> list[tuple[date, str]]:
    """The whole future of a deal: (date, stage) changes from its creation on."""
    d = created + timedelta(days=rng.randint(0, 2))
    steps = [(created, "Discovered"), (d, "Enriched")]
    r = rng.random()
    if r < 0.06:
        return [*steps, (d + timedelta(days=rng.randint(0, 3)), "Ignored")]
    if r < 0.09:
        return [*steps, (d + timedelta(days=rng.randint(0, 3)), "Failed")]
    if r < 0.22:
        return steps  # enriched, not selected yet
    sent = d + timedelta(days=rng.randint(0, 6))
    steps.append((sent, "Pending"))
    if rng.random() < p_accept:
        accepted = sent + timedelta(days=min(40, int(rng.expovariate(1 / 4.0))))
        steps.append((accepted, "Connected"))
        if rng.random() < 0.75:
            steps.append((accepted + timedelta(days=rng.randint(0, 3)), "Completed"))
    return steps


def _ts(d: date, key: int) -> str:
    """A time of day on ``d`` that depends only on (key, d): the same event keeps its stamp."""
    n = key * 7919 + d.toordinal() * 104729
    return f"{d.isoformat()} {8 + n % 12:02d}:{n // 12 % 60:02d}:00.000000"


def generate_crm(
    path: str | Path, spec: CrmSpec = CrmSpec(), progress: Callable[[str], Any] | None = None
) -> dict[str, int]:
    """Write ``spec`` as a fresh crm.db at ``path`` (replacing it); returns counts."""
    path = Path(path)
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(DDL)
    conn.executemany("insert into crm_stage values (?, ?, ?, ?, ?, 1)", STAGES)
    conn.executemany("insert into crm_closingreason values (?, ?, ?, ?, 1)", CLOSING_REASONS)
    span_days, cutoff = spec.weeks * 7, spec.cutoff
    leads, deals, forbidden = [], [], 0
    for i in range(1, spec.leads + 1):
        rng = random.Random(spec.seed * 1_000_003 + i)
        created = spec.start + timedelta(days=(i - 1) * span_days // spec.leads)
        if created > cutoff:
            break
        profile, headline, company = _profile(rng, created)
        p_accept = 1 / (1 + math.exp(-accept_logit(profile, headline, created)))
        history = _history(rng, created, p_accept)
        if rng.random() < 0.004:  # a change the state machine forbids
            history = [(created, "Discovered"), (created + timedelta(days=1), "Connected")]
            forbidden += 1
        elif rng.random() < 0.003 and history[-1][1] == "Completed":
            history.append((history[-1][0] + timedelta(days=2), "Pending"))
            forbidden += 1
        first, last_name = rng.choice(FIRST), rng.choice(LAST)
        repeat, backoff_hours = rng.random() < 0.1, rng.choice([1, 2, 4])
        seen = [(d, s) for d, s in history if d <= cutoff]
        if len(seen) > 1 and seen[-1][1] == "Pending" and repeat:
            seen.append((seen[-1][0], "Pending"))  # set again (backoff retry): a repeat line
        stage, last = seen[-1][1], seen[-1][0]
        slug = f"{spec.slug_prefix}-{first}-{last_name}-{i}"
        enriched = any(s != "Discovered" for _, s in seen)
        lead_updated = _ts(min(created + timedelta(days=1), last), i) if enriched else None
        leads.append(
            (
                i,
                first.title() if enriched else "",
                last_name.title() if enriched else "",
                headline if enriched else "",
                f"https://www.linkedin.com/in/{slug}/",
                "",
                profile["location_name"].split(",")[0] if enriched else "",
                company if enriched else "",
                json.dumps(profile) if enriched else "",
                False,
                _ts(created, i),
                lead_updated or _ts(created, i),
            )
        )
        backoff = json.dumps({"backoff_hours": backoff_hours}) if stage == "Pending" else ""
        closed = stage in ("Failed", "Ignored", "Completed")
        deals.append(
            (
                i,
                f"LinkedIn: {slug}",
                backoff,
                last.isoformat(),
                "",
                "",
                STAGE_ID[stage],
                "".join(f"{d.isoformat()} - {s}\n" for d, s in seen[1:]),
                _ts(last, i) if stage == "Completed" else None,
                f"t{spec.seed:03d}{i:012d}"[-16:],
                i,
                stage not in ("Failed", "Ignored"),
                True,
                REASON_ID[stage] if closed else None,
                _ts(created, i),
                _ts(last, i),
            )
        )
        if progress is not None and i % 100_000 == 0:
            progress(f"{i:,} leads generated")
    conn.executemany(
        "insert into crm_lead (id, first_name, last_name, title, website, email, city_name,"
        " company_name, description, disqualified, creation_date, update_date, owner_id,"
        " department_id, lead_source_id) values (?,?,?,?,?,?,?,?,?,?,?,?,1,1,1)",
        leads,
    )
    conn.executemany(
        "insert into crm_deal (id, name, next_step, next_step_date, description, workflow,"
        " stage_id, stages_dates, win_closing_date, ticket, lead_id, active, relevant,"
        " closing_reason_id, creation_date, update_date, owner_id, department_id)"
        " values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,1)",
        deals,
    )
    conn.commit()
    conn.close()
    return {"leads": len(leads), "deals": len(deals), "forbidden_transitions": forbidden}
