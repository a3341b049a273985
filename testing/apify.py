"""A local stand-in for the Apify API v2, following its published reference
(https://docs.apify.com/api/v2) and what the official ``apify-client`` (3.x) sends and
checks, not what our loader happens to need.

What the docs allow and the server does:

- start a run with ``POST /v2/acts/{actorId}/runs`` or the ``/v2/actors/{actorId}/runs``
  alias the official client calls; the JSON input may arrive gzip-compressed
  (``Content-Encoding: gzip``, which the client uses for bodies of 1 KiB and more);
  the answer is ``201`` with the full run object (``{"data": {...}}``: every field the
  client's ``Run`` model requires - id, actId, userId, startedAt, status, meta.origin,
  stats, options, buildId, defaultDatasetId, defaultKeyValueStoreId,
  defaultRequestQueueId ...);
- ``GET /v2/actor-runs/{runId}?waitForFinish=N`` holds the answer up to N seconds (at most
  60) until the run is terminal; statuses READY -> RUNNING -> SUCCEEDED | FAILED |
  TIMED-OUT | ABORTED; ``POST /v2/actor-runs/{runId}/abort``;
- the run's log as text: ``GET /v2/actor-runs/{runId}/log`` and ``GET /v2/logs/{runId}``;
- ``GET /v2/datasets/{datasetId}/items?offset=&limit=&clean=&desc=``: a JSON array with
  ``X-Apify-Pagination-Offset``, ``-Limit``, ``-Count`` (rows scanned), ``-Total`` and
  ``-Desc`` headers. A page may hold fewer items than ``limit`` (``max_page_size``), as the
  docs allow;
- errors as ``{"error": {"type": ..., "message": ...}}``; 429 ``rate-limit-exceeded`` with
  ``Retry-After``; bursts of 5xx; slow answers; a 502 with an HTML body from a gateway;
  a 200 dataset page that is not JSON.

It serves deterministic, seeded LinkedIn profiles for whatever profile URLs a run asks
for: people from a roster (usually the warehouse's tracked people, so that a baseline
scrape agrees with what the warehouse knows) or generated from the URL. A monthly change
rate makes a later simulated ``month`` differ from the baseline in a deterministic way:
promotions, moves to another tracked company, moves to a new company, departures and
formatting-only title edits. ``simulated_changes(urls, month)`` is the ground truth: what
changed for whom in that month, with the position before and after.

Items follow the published actor shapes of tests/fixtures/apify/README.md (``shape``
fault: one of them for every profile, or ``mixed``: a deterministic choice per profile):

- ``flat``: the top-level fields of dev_fusion items (``linkedinUrl``, ``fullName``,
  ``headline``, ``jobTitle``, ``companyName``, ``companyLinkedinUrl``,
  ``addressWithCountry``, ``connections``); someone who left has them null;
- ``experience``: harvestapi items (``publicIdentifier``, ``firstName``, ``lastName``,
  ``location{linkedinText}``, ``experience[]`` newest first of ``position``,
  ``companyName``, ``companyLinkedinUrl``, ``employmentType``, ``duration``, and
  ``startDate``/``endDate`` objects ``{"month": 3, "year": 2021, "text": "Mar 2021"}`` -
  per profile the month as a number, as a name (``"Mar"``), or the date only as
  ``{"text": "Mar 2021"}``; the current job ``endDate: {"text": "Present"}``);
- ``experiences``: dev_fusion items (top-level ``jobTitle``/``companyName`` plus
  ``experiences[]`` of ``companyId``, ``companyLink1``, ``title``, ``subtitle``
  ``"Acme · Full-time"``, ``caption`` ``"Jan 2025 - Present · 3 mos"``; consecutive roles
  at one company as a ``breakdown: true`` group whose ``subComponents`` are the roles).

Someone who left has every job ended; the same ground truth comes out of every shape.

Faults are switchable at any time (``configure(...)`` in-process, or ``POST /_test/config``
with the same fields as JSON): see ``Faults``.

    with ApifyTestServer(seed=7, change_rate=0.2) as server:   # 127.0.0.1, free port
        server.configure(max_page_size=7, rate_limit_on="items", rate_limit_count=2)
        ... APIFY_BASE_URL=server.base_url ...
        server.month = 1                                       # one simulated month later

    python -m testing.apify --port 8765 [--from-warehouse]
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import json
import re
import secrets
import signal
import string
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from outreach.tombstones import canonical_linkedin_url as normalize_linkedin_url

CHANGE_TYPES = ("promotion", "move_tracked", "move_new", "departure", "title_format")
TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED")
DATASET_MODES = (
    "normal",
    "empty",
    "malformed",
    "partial",
    "no_profiles",
    "some_unusable",  # every 5th profile an error item, and one item that is no object
)
ENDPOINTS = ("any", "start", "run", "items", "abort", "log")
# flat: dev_fusion's top-level fields; experience: harvestapi; experiences: dev_fusion
ITEM_SHAPES = ("flat", "experience", "experiences")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DATE_STYLES = ("number", "name", "text")  # harvestapi date objects: month 3, "Mar", text only
LOCATIONS = (
    ("London, England, United Kingdom", "GB"),
    ("New York, New York, United States", "US"),
    ("Berlin, Germany", "DE"),
    ("Toronto, Ontario, Canada", "CA"),
)
SCHOOLS = ("University of Sussex", "University of Toronto", "New York University")
LOGO = "https://media.licdn.com/dms/image/logo.png"

PROMOTIONS = {
    "Vice President of Sales": "Chief Revenue Officer",
    "VP Marketing": "Chief Marketing Officer",
    "VP of Finance": "Chief Financial Officer",
    "Head of Finance": "Chief Financial Officer",
    "Finance Director": "VP of Finance",
    "Controller": "VP of Finance",
    "VP People": "Chief People Officer",
    "Head of HR": "VP People",
    "Director of Human Resources": "VP People",
    "Head of Talent": "VP People",
    "Director of Operations": "VP Operations",
    "Senior Software Engineer": "Staff Software Engineer",
    "Account Executive": "Senior Account Executive",
    "Marketing Manager": "Director of Marketing",
    "Product Manager": "Senior Product Manager",
    "Sr. Data Analyst": "Analytics Manager",
    "Engineering Manager": "Director of Engineering",
    "Sales Development Representative": "Account Executive",
    "Executive Assistant to the CEO": "Chief of Staff",
    "Head of Customer Success": "VP Customer Success",
    "Chief Operating Officer": "President & Chief Operating Officer",
    "Chief Executive Officer": "Executive Chairman",
    "CEO": "Executive Chairman",
    "Founder & CEO": "Founder & Executive Chairman",
    "President": "Chief Executive Officer",
    "Managing Director": "Chief Executive Officer",
    "CFO": "Chief Executive Officer",
    "Chief Financial Officer": "Chief Executive Officer",
}
FIRST = [
    "Avery",
    "Jordan",
    "Morgan",
    "Riley",
    "Casey",
    "Taylor",
    "Quinn",
    "Rowan",
    "Emery",
    "Sasha",
]
LAST = ["Lindqvist", "Okafor", "Marsh", "Petrov", "Castillo", "Nakamura", "Brennan", "Haddad"]
TITLES = ["Director of Operations", "VP Marketing", "Controller", "Head of HR", "Product Manager"]
NEW_CO_A = ["Aurora", "Basalt", "Cirrus", "Dune", "Fjord", "Glacier", "Helix", "Indigo", "Kestrel"]
NEW_CO_B = ["Dynamics", "Holdings", "Ventures", "Labs", "Group", "Systems", "Partners", "Works"]


def _rand(*parts: Any) -> float:
    """A deterministic number in [0, 1) from the parts."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _pick(options: list[Any] | tuple[Any, ...], *parts: Any) -> Any:
    return options[int(_rand(*parts) * len(options))]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _add_months(year_month: str, months: int) -> str:
    year, month = (int(p) for p in year_month.split("-"))
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _new_id(length: int = 17) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


# ---------------------------------------------------------------------------- people
@dataclass(frozen=True)
class Company:
    name: str
    linkedin_url: str | None


@dataclass
class Position:
    title: str
    company: Company
    start: str  # YYYY-MM
    end: str | None = None


@dataclass(frozen=True)
class SimulatedChange:
    """One simulated change of a profile (ground truth for change detection): the position
    before and after; ``new_title`` and ``new_company`` None when the person left."""

    month: int
    kind: str  # one of CHANGE_TYPES
    previous_title: str | None
    previous_company: Company | None
    new_title: str | None
    new_company: Company | None


@dataclass
class Profile:
    """A person's LinkedIn profile at some month."""

    handle: str
    first_name: str
    last_name: str
    positions: list[Position]  # oldest first; the current one has end None
    events: list[SimulatedChange] = field(default_factory=list)

    @property
    def changes(self) -> list[tuple[int, str]]:
        """(month, change type) of every simulated change so far."""
        return [(e.month, e.kind) for e in self.events]

    @property
    def current(self) -> Position | None:
        return next((p for p in reversed(self.positions) if p.end is None), None)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass
class RosterEntry:
    full_name: str | None = None
    title: str | None = None
    company_name: str | None = None
    company_linkedin_url: str | None = None


# ---------------------------------------------------------------------------- faults
@dataclass
class Faults:
    """What goes wrong. ``*_on`` picks the endpoint (any, start, run, items, abort, log);
    ``*_count`` matching requests get the fault (-1: every one) after ``*_skip`` served well."""

    rate_limit_on: str = "any"
    rate_limit_count: int = 0  # matching requests answered 429; -1 = every one
    rate_limit_skip: int = 0  # matching requests served normally before the 429s start
    retry_after_s: int = 1  # the Retry-After header of a 429
    error_on: str = "any"
    error_status: int = 500  # 5xx, or a 4xx (401, 403, 404) that is not retried
    error_count: int = 0  # -1 = every one
    error_skip: int = 0
    error_echo_auth: bool = False  # error bodies repeat the Authorization header (a leak trap)
    slow_on: str = "any"
    slow_seconds: float = 0.0  # delay before answering
    html_on: str = "any"
    html_count: int = 0  # matching requests answered 502 with an HTML body (a gateway); -1 = all
    html_skip: int = 0
    max_page_size: int | None = None  # dataset pages hold at most this many rows (short pages)
    run_status: str = "SUCCEEDED"  # terminal status of runs; "RUNNING" = never finishes
    polls_before_terminal: int = 1  # RUNNING steps (polls, or waitForFinish ticks) first
    dataset: str = "normal"  # one of DATASET_MODES
    partial_fraction: float = 0.3  # share of requested profiles missing with "partial"
    duplicates: bool = False  # repeat some items verbatim, and some in another URL form
    shape: str = "mixed"  # item shape: one of ITEM_SHAPES, or mixed (a choice per profile)

    def validate(self) -> None:
        for name in ("rate_limit_on", "error_on", "slow_on", "html_on"):
            if getattr(self, name) not in ENDPOINTS:
                raise ValueError(f"{name} must be one of {ENDPOINTS}")
        if self.run_status not in (*TERMINAL_STATUSES, "RUNNING"):
            raise ValueError(f"run_status must be one of {TERMINAL_STATUSES} or RUNNING")
        if self.dataset not in DATASET_MODES:
            raise ValueError(f"dataset must be one of {DATASET_MODES}")
        if self.shape not in (*ITEM_SHAPES, "mixed"):
            raise ValueError(f"shape must be one of {ITEM_SHAPES} or mixed")
        if self.max_page_size is not None and self.max_page_size < 1:
            raise ValueError("max_page_size must be at least 1 (or null: no cap)")


@dataclass
class RequestRecord:
    method: str
    path: str
    endpoint: str
    status: int
    authorized: bool
    query: dict[str, str] = field(default_factory=dict)
    content_encoding: str | None = None  # of the request body


# ---------------------------------------------------------------------------- server
class ApifyTestServer:
    """The test-mode Apify server: ``start()`` in a thread on 127.0.0.1, ``stop()``."""

    def __init__(
        self,
        *,
        roster: dict[str, RosterEntry | dict[str, Any]] | None = None,
        companies: Iterable[Company] | None = None,
        seed: int = 42,
        month: int = 0,
        change_rate: float = 0.1,
        change_mix: dict[str, float] | None = None,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        base_month: str = "2026-01",
        faults: Faults | None = None,
    ):
        self.roster: dict[str, RosterEntry] = {}
        for url, entry in (roster or {}).items():
            key = normalize_linkedin_url(url)
            if key:
                self.roster[key] = entry if isinstance(entry, RosterEntry) else RosterEntry(**entry)
        tracked = {
            Company(e.company_name, e.company_linkedin_url)
            for e in self.roster.values()
            if e.company_name
        }
        self.companies = sorted(set(companies or ()) | tracked, key=lambda c: c.name)
        self.seed = seed
        self.month = month
        self.change_rate = change_rate
        self.change_mix = change_mix or dict.fromkeys(CHANGE_TYPES, 1.0)
        unknown = set(self.change_mix) - set(CHANGE_TYPES)
        if unknown:
            raise ValueError(f"unknown change types {sorted(unknown)}; known: {CHANGE_TYPES}")
        self.token = token
        self.host = host
        self.port = port
        self.base_month = base_month
        self.faults = faults or Faults()
        self.faults.validate()
        self.tick_s = 0.02  # run progress step while an answer is held (waitForFinish)
        self.requests: list[RequestRecord] = []
        self.runs: dict[str, dict[str, Any]] = {}
        self.datasets: dict[str, list[Any]] = {}
        self._counters: dict[str, int] = {}
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the test server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        if self._httpd is not None:
            return self.base_url
        handler = type("_BoundHandler", (_Handler,), {"app": self})
        self._httpd = _QuietServer((self.host, self.port), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="apify-testserver", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> ApifyTestServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # control -------------------------------------------------------------------------
    def configure(self, **changes: Any) -> Faults:
        """Switch faults (fields of ``Faults``); counters of the changed faults restart."""
        with self._lock:
            faults = dataclasses.replace(self.faults, **changes)
            faults.validate()
            self.faults = faults
            self._counters.clear()
            return faults

    def reset_faults(self) -> None:
        with self._lock:
            self.faults = Faults()
            self._counters.clear()

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "month": self.month,
                "seed": self.seed,
                "change_rate": self.change_rate,
                "faults": dataclasses.asdict(self.faults),
                "runs": len(self.runs),
                "requests": len(self.requests),
                "roster": len(self.roster),
            }

    def _apply_control(self, body: dict[str, Any]) -> None:
        with self._lock:
            if "month" in body:
                self.month = int(body["month"])
            if "change_rate" in body:
                self.change_rate = float(body["change_rate"])
            if body.get("reset"):
                self.reset_faults()
            if body.get("faults"):
                self.configure(**body["faults"])

    # profiles ------------------------------------------------------------------------
    def _baseline(self, key: str) -> Profile:
        handle = key.rsplit("/", 1)[-1]
        entry = self.roster.get(key)
        if entry and entry.full_name:
            first, _, last = entry.full_name.strip().partition(" ")
        else:
            parts = [p for p in handle.split("-") if p.isalpha()]
            if len(parts) >= 2:
                first, last = parts[0].title(), parts[1].title()
            else:
                first, last = _pick(FIRST, self.seed, key, "f"), _pick(LAST, self.seed, key, "l")
        if entry and (entry.title or entry.company_name):
            company = Company(
                entry.company_name or self._new_company(key, 0).name, entry.company_linkedin_url
            )
            title = entry.title or _pick(TITLES, self.seed, key, "t")
        else:
            company = (
                _pick(self.companies, self.seed, key, "c")
                if self.companies
                else self._new_company(key, 0)
            )
            title = _pick(TITLES, self.seed, key, "t")
        tenure = 6 + int(_rand(self.seed, key, "tenure") * 90)
        start = _add_months(self.base_month, -tenure)
        earlier = self._new_company(key, -1)
        positions = [
            Position(
                title=_pick(TITLES, self.seed, key, "t0"),
                company=earlier,
                start=_add_months(start, -(12 + int(_rand(self.seed, key, "t0s") * 48))),
                end=_add_months(start, -1),
            ),
            Position(title=title, company=company, start=start),
        ]
        return Profile(handle=handle, first_name=first, last_name=last, positions=positions)

    def _new_company(self, key: str, month: int | str) -> Company:
        name = f"{_pick(NEW_CO_A, self.seed, key, month, 'a')} {_pick(NEW_CO_B, self.seed, key, month, 'b')}"
        return Company(name, f"https://www.linkedin.com/company/{_slug(name)}")

    def _untracked_company(self, key: str, month: int, current: Position | None) -> Company:
        """A new company for a move: neither a tracked one nor the one the person is at."""
        taken = {c.name for c in self.companies} | ({current.company.name} if current else set())
        company = self._new_company(key, month)
        attempt = 0
        while company.name in taken:
            attempt += 1
            company = self._new_company(key, f"{month}+{attempt}")
        return company

    def _change_type(self, key: str, month: int) -> str:
        names = [n for n in CHANGE_TYPES if self.change_mix.get(n, 0) > 0]
        total = sum(self.change_mix[n] for n in names)
        r = _rand(self.seed, key, month, "type") * total
        for name in names:
            r -= self.change_mix[name]
            if r < 0:
                return name
        return names[-1]

    def profile(self, url: str, month: int | None = None) -> Profile | None:
        """The profile behind ``url`` at ``month`` (default: the server's month)."""
        key = normalize_linkedin_url(url)
        if not key or "/in/" not in key:
            return None
        month = self.month if month is None else month
        profile = self._baseline(key)
        for m in range(1, month + 1):
            if _rand(self.seed, key, m, "change") >= self.change_rate:
                continue
            kind = self._change_type(key, m)
            self._apply(profile, key, m, kind)
        return profile

    def _apply(self, profile: Profile, key: str, month: int, kind: str) -> None:
        when = _add_months(self.base_month, month)  # the new job's first month
        ended = _add_months(when, -1)  # the old job's last month
        current = profile.current
        before = (current.title, current.company) if current else (None, None)
        if current is None and kind != "move_new":
            kind = "move_new"  # someone who left can only turn up somewhere new
        if kind == "promotion":
            assert current is not None
            title = PROMOTIONS.get(current.title) or (
                current.title.replace("Senior ", "Director of ", 1)
                if current.title.startswith("Senior ")
                else f"Senior {current.title}"
            )
            current.end = ended
            profile.positions.append(Position(title, current.company, when))
        elif kind == "move_tracked" and current is not None:
            others = [c for c in self.companies if c.name != current.company.name]
            if not others:
                kind = "move_new"
            else:
                current.end = ended
                company = _pick(others, self.seed, key, month, "to")
                profile.positions.append(Position(current.title, company, when))
        if kind == "move_new":
            title = current.title if current else _pick(TITLES, self.seed, key, month)
            company = self._untracked_company(key, month, current)
            if current:
                current.end = ended
            profile.positions.append(Position(title, company, when))
        elif kind == "departure":
            assert current is not None
            current.end = ended
        elif kind == "title_format":
            assert current is not None
            current.title = _format_variant(current.title, _rand(self.seed, key, month, "fmt"))
        after = profile.current
        profile.events.append(
            SimulatedChange(
                month,
                kind,
                *before,
                after.title if after else None,
                after.company if after else None,
            )
        )

    def simulated_changes(
        self, urls: Iterable[str], month: int | None = None
    ) -> dict[str, list[SimulatedChange]]:
        """The ground truth of ``month`` (default: the server's month): per normalised
        profile URL, the changes simulated in that month - what this month's scrape differs
        by from the month before. Profiles without a change are left out."""
        month = self.month if month is None else month
        out: dict[str, list[SimulatedChange]] = {}
        for url in urls:
            profile = self.profile(url, month)
            events = [e for e in profile.events if e.month == month] if profile else []
            if events:
                out[normalize_linkedin_url(url)] = events
        return out

    def item(self, url: str, month: int | None = None, *, index: int = 0) -> dict[str, Any]:
        """The dataset item an actor would return for ``url`` (see the module docstring for
        the shapes)."""
        month = self.month if month is None else month
        profile = self.profile(url, month)
        if profile is None:
            return {"inputUrl": url, "error": "Not a LinkedIn profile URL"}
        shape = self.item_shape(url)
        now = _add_months(self.base_month, month)
        if shape == "experience":
            return self._harvestapi_item(profile, now)
        if shape == "experiences":
            return self._devfusion_item(profile, now)
        current = profile.current
        return {
            "linkedinUrl": f"https://www.linkedin.com/in/{profile.handle}/",
            "fullName": profile.full_name,
            "headline": _headline(current),
            "jobTitle": current.title if current else None,
            "companyName": current.company.name if current else None,
            "companyLinkedinUrl": current.company.linkedin_url if current else None,
            "addressWithCountry": self._location(profile)[0],
            "connections": 500,
        }

    def item_shape(self, url: str) -> str:
        """The shape of ``url``'s items (one of ITEM_SHAPES): the ``shape`` fault, or with
        ``mixed`` a deterministic choice per profile."""
        if self.faults.shape != "mixed":
            return self.faults.shape
        key = normalize_linkedin_url(url) or url
        return _pick(ITEM_SHAPES, self.seed, key.rsplit("/", 1)[-1], "shape")

    def _location(self, profile: Profile) -> tuple[str, str]:
        return _pick(LOCATIONS, self.seed, profile.handle, "location")

    def _harvestapi_item(self, profile: Profile, now: str) -> dict[str, Any]:
        """harvestapi/linkedin-profile-scraper (tests/fixtures/apify/harvest_experience_*)."""
        style = _pick(DATE_STYLES, self.seed, profile.handle, "dates")
        location, country = self._location(profile)
        school = _pick(SCHOOLS, self.seed, profile.handle, "school")
        graduated = int(min(p.start for p in profile.positions)[:4])
        return {
            "id": "ACoAA" + hashlib.sha256(profile.handle.encode()).hexdigest()[:10].upper(),
            "publicIdentifier": profile.handle,
            "linkedinUrl": f"https://www.linkedin.com/in/{profile.handle}",
            "firstName": profile.first_name,
            "lastName": profile.last_name,
            "headline": _headline(profile.current),
            "location": {"linkedinText": location, "countryCode": country},
            "experience": [
                {
                    "position": p.title,
                    "companyName": p.company.name,
                    "companyLinkedinUrl": p.company.linkedin_url,
                    "employmentType": "Full-time",
                    "duration": _duration(p.start, p.end or now),
                    "startDate": _date_object(p.start, style),
                    "endDate": _date_object(p.end, style) if p.end else {"text": "Present"},
                }
                for p in reversed(profile.positions)
            ],
            "education": [
                {
                    "schoolName": school,
                    "degree": "BSc",
                    "startDate": {"year": graduated - 3},
                    "endDate": {"year": graduated},
                }
            ],
        }

    def _devfusion_item(self, profile: Profile, now: str) -> dict[str, Any]:
        """dev_fusion/Linkedin-Profile-Scraper (tests/fixtures/apify/devfusion_experiences_*):
        consecutive roles at one company as a ``breakdown`` group."""
        location, _ = self._location(profile)
        current = profile.current
        groups: list[list[Position]] = []
        for p in reversed(profile.positions):  # newest first
            if groups and groups[-1][0].company.name == p.company.name:
                groups[-1].append(p)
            else:
                groups.append([p])
        experiences = []
        for roles in groups:
            company = roles[0].company
            head = {
                "companyId": str(1000 + int(_rand(company.name, "id") * 9000)),
                "companyLink1": company.linkedin_url,
                "logo": LOGO,
            }
            if len(roles) == 1:
                (p,) = roles
                experiences.append(
                    {
                        **head,
                        "title": p.title,
                        "subtitle": f"{company.name} · Full-time",
                        "caption": _caption(p, now),
                        "metadata": f"{location} · Hybrid",
                        "breakdown": False,
                        "subComponents": [{"description": [_text_component("Responsibilities.")]}],
                    }
                )
                continue
            first = min(p.start for p in roles)
            last = now if any(p.end is None for p in roles) else max(p.end or now for p in roles)
            experiences.append(
                {
                    **head,
                    "title": company.name,
                    "subtitle": f"Full-time · {_duration(first, last)}",
                    "caption": location,
                    "breakdown": True,
                    "subComponents": [
                        {
                            "title": p.title,
                            "subtitle": "Full-time",
                            "caption": _caption(p, now),
                            "description": [_text_component("Role details.")],
                        }
                        for p in roles
                    ],
                }
            )
        graduated = int(min(p.start for p in profile.positions)[:4])
        return {
            "linkedinUrl": f"https://www.linkedin.com/in/{profile.handle}",
            "firstName": profile.first_name,
            "lastName": profile.last_name,
            "fullName": profile.full_name,
            "headline": _headline(current),
            "connections": 500,
            "followers": 100 + int(_rand(self.seed, profile.handle, "followers") * 900),
            "email": None,
            "jobTitle": current.title if current else None,
            "companyName": current.company.name if current else None,
            "addressWithCountry": location,
            "experiences": experiences,
            "educations": [
                {
                    "title": _pick(SCHOOLS, self.seed, profile.handle, "school"),
                    "subtitle": "BSc, Economics",
                    "caption": f"{graduated - 3} - {graduated}",
                }
            ],
        }

    def dataset_for(self, urls: list[str], month: int) -> list[Any]:
        f = self.faults
        if f.dataset == "empty":
            return []
        if f.dataset == "no_profiles":
            return [{"inputUrl": u, "error": "Profile is private or unavailable"} for u in urls]
        wanted = list(urls)
        if f.dataset == "partial" and len(wanted) > 1:
            keep = [u for u in wanted if _rand(self.seed, u, "partial") >= f.partial_fraction]
            if len(keep) == len(wanted):
                keep = wanted[1:]
            wanted = keep or wanted[:1]
        items: list[Any] = [self.item(u, month, index=i) for i, u in enumerate(wanted)]
        if f.dataset == "some_unusable":
            for i in range(0, len(items), 5):
                items[i] = {"inputUrl": wanted[i], "error": "Profile is private or unavailable"}
            items.append("not an object")
        if f.duplicates:
            extra = [dict(it) for i, it in enumerate(items) if i % 3 == 0]
            for i, it in enumerate(items):
                if i % 5 == 1 and it.get("linkedinUrl"):
                    variant = dict(it)
                    variant["linkedinUrl"] = (
                        it["linkedinUrl"].replace("https://", "http://uk.").replace("www.", "")
                        + "?trk=public_profile"
                    )
                    extra.append(variant)
            items += extra
        return items

    # request handling ----------------------------------------------------------------
    def _count(self, name: str) -> int:
        self._counters[name] = self._counters.get(name, 0) + 1
        return self._counters[name]

    def _fault_hits(self, prefix: str, endpoint: str) -> bool:
        f = self.faults
        on, count, skip = (getattr(f, f"{prefix}_{x}") for x in ("on", "count", "skip"))
        if count == 0 or on not in ("any", endpoint):
            return False
        n = self._count(prefix)
        return n > skip and (count < 0 or n <= skip + count)

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        path = parts.path.rstrip("/")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if path.startswith("/_test/"):
            return self._control(method, path, body)
        endpoint = _endpoint(method, path)
        auth_header = headers.get("authorization", "")
        authorized = self._authorized(auth_header)
        encoding = headers.get("content-encoding")
        status, out_headers, payload = self._route(
            method, path, query, _decoded(body, encoding), endpoint, authorized, auth_header
        )
        with self._lock:
            self.requests.append(
                RequestRecord(method, path, endpoint, status, authorized, query, encoding)
            )
        return status, out_headers, payload

    def _authorized(self, header: str) -> bool:
        if not header.startswith("Bearer ") or not header[7:].strip():
            return False
        return self.token is None or secrets.compare_digest(header[7:].strip(), self.token)

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes | None,
        endpoint: str,
        authorized: bool,
        auth_header: str,
    ) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            f = self.faults
            slow = f.slow_seconds if f.slow_on in ("any", endpoint) else 0.0
            rate_limited = self._fault_hits("rate_limit", endpoint)
            errored = not rate_limited and self._fault_hits("error", endpoint)
            html = not (rate_limited or errored) and self._fault_hits("html", endpoint)
        if slow:
            time.sleep(slow)
        if endpoint == "unknown":
            return _error(404, "page-not-found", f"no route for {method} {path}")
        if not authorized:
            message = "Authentication token is not valid."
            if f.error_echo_auth:
                message += f" Got: {auth_header}"
            return _error(401, "token-not-valid", message)
        if body is None:
            return _error(415, "unsupported-content-encoding", "Content-Encoding not supported")
        if rate_limited:
            status, headers, payload = _error(
                429, "rate-limit-exceeded", "You have exceeded the rate limit."
            )
            return status, {**headers, "Retry-After": str(f.retry_after_s)}, payload
        if errored:
            kind = "internal-server-error" if f.error_status >= 500 else "request-failed"
            message = f"simulated HTTP {f.error_status}"
            if f.error_echo_auth:
                message += f" for request with Authorization: {auth_header}"
            return _error(f.error_status, kind, message)
        if html:
            page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
            return 502, {"Content-Type": "text/html"}, page
        segments = path.split("/")
        if endpoint == "start":
            return self._start_run(segments[3], query, body)
        if endpoint == "run":
            return self._get_run(segments[3], query)
        if endpoint == "abort":
            return self._abort_run(segments[3])
        if endpoint == "log":
            return self._log(segments[3])
        return self._items(segments[3], query)

    def _start_run(
        self, actor_id: str, query: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            run_input = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "invalid-input", "Input is not valid JSON")
        urls = _input_urls(run_input) if isinstance(run_input, dict) else []
        if not urls:
            return _error(400, "invalid-input", "Input has no profile URLs (profileUrls/urls)")
        with self._lock:
            month = int(run_input.get("testMonth", self.month))
            run_id, dataset_id = _new_id(), _new_id()
            self.datasets[dataset_id] = self.dataset_for(urls, month)
            run = {
                "id": run_id,
                "actId": actor_id,
                "userId": "testUserId0000000",
                "actorTaskId": None,
                "startedAt": _now(),
                "finishedAt": None,
                "status": "READY",
                "statusMessage": None,
                "isStatusMessageTerminal": None,
                "meta": {"origin": "API", "userAgent": "test"},
                "stats": {"inputBodyLen": len(body), "restartCount": 0, "computeUnits": 0},
                "options": {
                    "build": query.get("build", "latest"),
                    "timeoutSecs": int(query.get("timeout", 3600)),
                    "memoryMbytes": int(query.get("memory", 4096)),
                    "diskMbytes": 8192,
                },
                "buildId": "testBuildId000000",
                "buildNumber": "0.0.1",
                "exitCode": None,
                "defaultKeyValueStoreId": _new_id(),
                "defaultDatasetId": dataset_id,
                "defaultRequestQueueId": _new_id(),
                "usageTotalUsd": 0,
                "_ticks": 0,
                "_terminal": self.faults.run_status,
                "_ticks_before_terminal": self.faults.polls_before_terminal,
                "_log": [f"{_now()} ACTOR: Run {run_id} started with {len(urls)} profile URLs"],
            }
            self.runs[run_id] = run
            wait = _wait_seconds(query)
        if wait:
            self._hold(run_id, wait)
        with self._lock:
            return 201, {"Location": f"/v2/actor-runs/{run_id}"}, _json({"data": _public(run)})

    def _tick(self, run: dict[str, Any]) -> None:
        """One step of a run's life: READY -> RUNNING -> its terminal status (under lock)."""
        if run["status"] in TERMINAL_STATUSES:
            return
        run["_ticks"] += 1
        if run["_terminal"] != "RUNNING" and run["_ticks"] > run["_ticks_before_terminal"]:
            run["status"] = run["_terminal"]
            run["finishedAt"] = _now()
            run["exitCode"] = 0 if run["status"] == "SUCCEEDED" else 1
            if run["status"] != "SUCCEEDED":
                run["statusMessage"] = {
                    "FAILED": "The Actor process exited with code 1",
                    "TIMED-OUT": "The Actor run exceeded its timeout",
                    "ABORTED": "The Actor run was aborted",
                }[run["status"]]
                run["isStatusMessageTerminal"] = True
            run["_log"].append(f"{_now()} ACTOR: Run finished with status {run['status']}")
        else:
            run["status"] = "RUNNING"

    def _hold(self, run_id: str, seconds: float) -> None:
        """waitForFinish: hold the answer until the run is terminal or ``seconds`` passed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                run = self.runs[run_id]
                if run["status"] in TERMINAL_STATUSES:
                    return
                self._tick(run)
            time.sleep(min(self.tick_s, max(0.0, deadline - time.monotonic())))

    def _get_run(self, run_id: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            run = self.runs.get(run_id)
            if run is None:
                return _error(404, "record-not-found", f"Actor run {run_id} was not found")
            self._tick(run)
        wait = _wait_seconds(query)
        if wait:
            self._hold(run_id, wait)
        with self._lock:
            return 200, {}, _json({"data": _public(run)})

    def _abort_run(self, run_id: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            run = self.runs.get(run_id)
            if run is None:
                return _error(404, "record-not-found", f"Actor run {run_id} was not found")
            if run["status"] not in TERMINAL_STATUSES:
                run["status"], run["finishedAt"] = "ABORTED", _now()
                run["statusMessage"] = "Aborted by the API"
                run["_log"].append(f"{_now()} ACTOR: Run aborted")
            return 200, {}, _json({"data": _public(run)})

    def _log(self, run_id: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            run = self.runs.get(run_id)
            if run is None:
                return _error(404, "record-not-found", f"Log of {run_id} was not found")
            text = "\n".join(run["_log"]) + "\n"
        return 200, {"Content-Type": "text/plain; charset=utf-8"}, text.encode()

    def _items(self, dataset_id: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            items = self.datasets.get(dataset_id)
            mode, cap = self.faults.dataset, self.faults.max_page_size
        if items is None:
            return _error(404, "record-not-found", f"Dataset {dataset_id} was not found")
        try:
            offset = max(0, int(query.get("offset", 0)))
            limit = max(0, int(query.get("limit", 0)))
        except ValueError:
            return _error(400, "invalid-parameter", "offset and limit must be integers")
        desc = query.get("desc", "").lower() in ("1", "true")
        clean = query.get("clean", "").lower() in ("1", "true")
        rows = items[::-1] if desc else items
        size = min(limit or _NO_LIMIT, cap or _NO_LIMIT)
        scanned = rows[offset : offset + size]
        page = [_cleaned(i) for i in scanned if i != {}] if clean else scanned
        headers = {
            "X-Apify-Pagination-Offset": str(offset),
            "X-Apify-Pagination-Limit": str(limit or _NO_LIMIT),
            "X-Apify-Pagination-Count": str(len(scanned)),
            "X-Apify-Pagination-Total": str(len(items)),
            "X-Apify-Pagination-Desc": "true" if desc else "false",
        }
        if mode == "malformed":
            return 200, headers, _json(page)[: max(10, len(_json(page)) // 2)]
        return 200, headers, _json(page)

    def _control(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if path == "/_test/state" and method == "GET":
            return 200, {}, _json(self.state())
        if path == "/_test/config" and method == "POST":
            try:
                self._apply_control(json.loads(body or b"{}"))
            except (ValueError, TypeError) as exc:
                return _error(400, "invalid-config", str(exc))
            return 200, {}, _json(self.state())
        return _error(404, "page-not-found", f"no route for {method} {path}")


def _month_text(year_month: str) -> str:
    """ "2021-03" -> "Mar 2021", as LinkedIn writes dates."""
    year, month = year_month.split("-")
    return f"{MONTHS[int(month) - 1]} {year}"


def _date_object(year_month: str, style: str) -> dict[str, Any]:
    """A harvestapi date: {"month": 3 | "Mar", "year": 2021, "text": "Mar 2021"}, or only
    {"text": "Mar 2021"} (style ``text``)."""
    year, month = (int(p) for p in year_month.split("-"))
    text = _month_text(year_month)
    if style == "text":
        return {"text": text}
    return {"month": month if style == "number" else MONTHS[month - 1], "year": year, "text": text}


def _duration(start: str, end: str) -> str:
    """LinkedIn's duration of a job from its first to its last month: "2 yrs 3 mos"."""
    (y0, m0), (y1, m1) = ((int(p) for p in ym.split("-")) for ym in (start, end))
    months = max(1, (y1 - y0) * 12 + (m1 - m0) + 1)
    years, months = divmod(months, 12)
    parts = []
    if years:
        parts.append(f"{years} yr{'s' if years > 1 else ''}")
    if months:
        parts.append(f"{months} mo{'s' if months > 1 else ''}")
    return " ".join(parts)


def _caption(position: Position, now: str) -> str:
    """dev_fusion's caption: "Jan 2025 - Present · 3 mos" or "Jan 2014 - May 2019 · 5 yrs"."""
    end = _month_text(position.end) if position.end else "Present"
    return (
        f"{_month_text(position.start)} - {end} · {_duration(position.start, position.end or now)}"
    )


def _text_component(text: str) -> dict[str, str]:
    return {"type": "textComponent", "text": text}


def _headline(current: Position | None) -> str:
    return f"{current.title} at {current.company.name}" if current else "Open to work"


def _format_variant(title: str, r: float) -> str:
    """The same title written differently (case, spacing, punctuation) — not a change."""
    variants = [title.lower(), title.upper(), f"{title}.", "  ".join(title.split()), f" {title} "]
    variants = [v for v in variants if v != title]
    return variants[int(r * len(variants))]


_NO_LIMIT = 999_999_999_999  # what the API reports as the limit when none was asked for
_ROUTES = (
    ("POST", re.compile(r"/v2/(?:acts|actors)/[^/]+/runs"), "start"),
    ("GET", re.compile(r"/v2/actor-runs/[^/]+"), "run"),
    ("POST", re.compile(r"/v2/actor-runs/[^/]+/abort"), "abort"),
    ("GET", re.compile(r"/v2/(?:actor-runs/[^/]+/log|logs/[^/]+)"), "log"),
    ("GET", re.compile(r"/v2/datasets/[^/]+/items"), "items"),
)


def _endpoint(method: str, path: str) -> str:
    for verb, pattern, name in _ROUTES:
        if method == verb and pattern.fullmatch(path):
            return name
    return "unknown"


def _decoded(body: bytes, encoding: str | None) -> bytes | None:
    """The request body without its Content-Encoding (gzip, as the official client sends
    bodies of 1 KiB and more); None for an encoding this server does not speak."""
    if not body or encoding in (None, "", "identity"):
        return body
    if encoding.lower() == "gzip":
        try:
            return gzip.decompress(body)
        except (OSError, EOFError):
            return None
    return None


def _wait_seconds(query: dict[str, str]) -> float:
    """waitForFinish in seconds, capped at the documented 60."""
    try:
        return min(60.0, max(0.0, float(query.get("waitForFinish", 0))))
    except ValueError:
        return 0.0


def _cleaned(item: Any) -> Any:
    """clean=1: hidden fields (a leading #) left out."""
    if isinstance(item, dict):
        return {k: v for k, v in item.items() if not str(k).startswith("#")}
    return item


def _input_urls(run_input: dict[str, Any]) -> list[str]:
    for key in ("profileUrls", "companyUrls", "urls", "startUrls", "queries"):
        value = run_input.get(key)
        if isinstance(value, list) and value:
            return [v["url"] if isinstance(v, dict) else str(v) for v in value]
    return []


def _public(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if not k.startswith("_")}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _error(status: int, kind: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {}, _json({"error": {"type": kind, "message": message}})


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that gave up (our slow-response fault) is expected, not an error
        pass


class _Handler(BaseHTTPRequestHandler):
    app: ApifyTestServer
    protocol_version = "HTTP/1.1"
    server_version = "ApifyTestServer/1.0"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out_headers, payload = self.app.handle(self.command, self.path, headers, body)
        self.send_response(status)
        out_headers.setdefault("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in out_headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet; never echo request details (a token could be in a query string)


# ---------------------------------------------------------------------------- warehouse
def roster_from_warehouse(database_url: str) -> dict[str, RosterEntry]:
    """Tracked people as the warehouse knows them: name, title and employer (the marts
    first, then the intake staging model, then raw intake)."""
    import psycopg

    def exists(conn: psycopg.Connection, relation: str) -> bool:
        return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]

    with psycopg.connect(database_url, autocommit=True) as conn:
        if exists(conn, "marketing.people_master"):
            if exists(conn, "marketing.company_master"):
                sql = """
                    select p.linkedin_url, p.full_name, p.title, c.company_name, c.linkedin_url
                    from marketing.people_master as p
                    left join marketing.company_master as c
                        on p.company_unique_id = c.company_unique_id
                """
            else:
                sql = """
                    select linkedin_url, full_name, title, null, null
                    from marketing.people_master
                """
        elif exists(conn, "staging.stg_intake__people"):
            sql = """
                select linkedin_url, full_name, title, employer_name, employer_linkedin_url
                from staging.stg_intake__people
            """
        elif exists(conn, "raw_intake.people"):
            sql = """
                select linkedin_url, full_name, title, company_name, company_linkedin_url
                from raw_intake.people
            """
        else:
            return {}
        rows = conn.execute(sql).fetchall()
    return {
        url: RosterEntry(name, title, company, company_url)
        for url, name, title, company, company_url in rows
        if normalize_linkedin_url(url)
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m testing.apify",
        description="Local Apify API v2 test-mode server (127.0.0.1).",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = any free port")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--month", type=int, default=0, help="simulated month (0 = baseline)")
    p.add_argument("--change-rate", type=float, default=0.1, help="monthly change probability")
    p.add_argument("--token", help="accept only this bearer token (default: any)")
    p.add_argument(
        "--from-warehouse",
        action="store_true",
        help="serve the warehouse's tracked people as they are known there",
    )
    args = p.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        p.error("the test server only listens on the loopback interface")
    roster: dict[str, RosterEntry] = {}
    if args.from_warehouse:
        from outreach.warehouse import database_url

        roster = roster_from_warehouse(database_url())
    server = ApifyTestServer(
        roster=roster,
        seed=args.seed,
        month=args.month,
        change_rate=args.change_rate,
        token=args.token,
        host=args.host,
        port=args.port,
    )
    url = server.start()
    print(
        f"Apify test-mode server on {url} ({len(roster)} known people); Ctrl-C stops it", flush=True
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
