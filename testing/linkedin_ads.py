"""A local HTTP server that speaks the parts of the LinkedIn Marketing API the loader uses,
following LinkedIn's docs: responses as the adAnalytics "Sample Response"
(https://learn.microsoft.com/linkedin/marketing/integrations/ads-reporting/ads-reporting:
``elements`` with ``pivotValues``, ``dateRange`` {start, end}, ``impressions``, ``clicks``,
``costInLocalCurrency`` as a string, ``externalWebsiteConversions``; ``paging``; no paging
of adAnalytics; an empty answer for no activity or no read access) and error bodies as
the error-handling guide (https://learn.microsoft.com/linkedin/shared/api-guide/concepts/
error-handling: ``{"status", "serviceErrorCode", "code", "message"}``).

Endpoints (Rest.li 2.0, ``LinkedIn-Version`` and ``X-Restli-Protocol-Version: 2.0.0``
required, ``Authorization: Bearer <token>`` checked):

- ``GET /rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY&dateRange=...
  &accounts=List(urn%3Ali%3AsponsoredAccount%3A...)&fields=...`` - daily campaign rows;
  a generically urlencoded ``dateRange`` (``%28start%3A...``) is refused with 400
  "Parameter 'dateRange' is invalid", as LinkedIn does; at most 15,000 elements, cut
  silently; days without activity are left out.
- ``GET /rest/adAccounts/{id}`` - account name, currency, status.
- ``GET /rest/adAccounts/{id}/adCampaigns?q=search&pageSize=&pageToken=`` - campaigns,
  cursor pagination (``metadata.nextPageToken``).

Data is seeded and deterministic (hashes of seed, campaign and day; nothing random): the
same day of the same campaign always has the same numbers unless a test restates it.
Scripted scenario ``ctr_drop``: the first campaign of the first account ("Webinar Promo
(EMEA)") has 10,000 impressions a day and 210 clicks (CTR 2.1 %) until ``drop_date`` and
150 clicks (CTR 1.5 %) from then on; every other campaign's CTR stays between 2.6 % and
3.7 %. Days after ``today`` do not exist yet: moving ``today`` forward is "the next
morning's data arriving".

Faults and changes are switchable at any time, in-process (``configure``, ``restate``,
``remove``) or over HTTP (``POST /_test/config`` with the same fields as JSON; ``GET
/_test/state``): 429 bursts (with or without Retry-After), bursts of 5xx, answers slower
than a client's timeout, a proxy's HTML error page (``html_count``, status ``html_status``:
502, or 200 for a body that is not JSON at all), 403 ACCESS_DENIED, an expired token.
Each request takes at most one fault, in this order: a 429, a 5xx, an HTML page, a slow
answer (so ``configure(rate_limit_count=1, server_error_count=3, slow_count=1)`` gives five
faulty answers in a row). ``serve(path, body, status=, headers=)`` answers the next GET of a path with a given body
(the documented payloads in ``tests/fixtures/linkedin_ads/``), once.

    with LinkedInAdsTestServer(today=date(2025, 3, 10)) as server:   # 127.0.0.1, free port
        ... LINKEDIN_BASE_URL=server.base_url ...
        server.configure(today=date(2025, 3, 11))                      # next morning

    python -m testing.linkedin_ads --port 8766 --campaigns 4
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import re
import signal
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from loaders.linkedin_ads import settings as s

SCENARIO_NAME = "Webinar Promo (EMEA)"
SCENARIO_IMPRESSIONS = 10_000
SCENARIO_CLICKS_BEFORE = 210  # CTR 2.1 %
SCENARIO_CLICKS_AFTER = 150  # CTR 1.5 %
SCENARIO_CPC = Decimal("4.1234567891")

_CAMPAIGN_NAMES = (
    "Brand Awareness",
    "Retargeting - Website Visitors",
    "Lead Gen - Whitepaper",
    "Product Launch",
    "Event Registration",
    "Talent Brand",
    "ABM - Tier 1 Accounts",
    "Free Trial Push",
)
_REGIONS = ("US", "UK", "DACH", "Nordics", "APAC", "LATAM", "Benelux", "France")
_CURRENCIES = ("USD", "EUR", "GBP")

_DATE = r"\(year:\d{4},month:\d{1,2},day:\d{1,2}\)"
_DATE_RANGE_RE = re.compile(rf"^\(start:{_DATE}(,end:{_DATE})?\)$")
_DATE_PARTS_RE = re.compile(r"\(year:(\d{4}),month:(\d{1,2}),day:(\d{1,2})\)")
_ACCOUNTS_RE = re.compile(
    r"^List\(urn%3Ali%3AsponsoredAccount%3A\d+(,urn%3Ali%3AsponsoredAccount%3A\d+)*\)$"
)
_VERSION_RE = re.compile(r"^\d{6}(\.\d{2})?$")


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts (sha256; no random state)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _units(n: int, *parts: object) -> list[float]:
    """``n`` (at most 8) deterministic numbers in [0, 1) from one hash of the parts."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8 * n).digest()
    return [int.from_bytes(digest[8 * k : 8 * k + 8], "big") / 2**64 for k in range(n)]


@dataclass
class Campaign:
    campaign_id: str
    account_id: str
    name: str
    status: str
    base_impressions: int
    base_ctr: float
    cpc: Decimal
    conversion_rate: float
    scenario: bool = False


@dataclass
class Account:
    account_id: str
    name: str
    currency: str
    campaigns: list[Campaign]


@dataclass
class RequestRecord:
    method: str
    path: str
    query: str
    status: int
    elements: int = 0


@dataclass
class _Faults:
    rate_limit_count: int = 0
    retry_after: str | None = None
    server_error_count: int = 0
    slow_count: int = 0  # answers held back slow_seconds (beyond a client's read timeout)
    slow_seconds: float = 1.0
    html_count: int = 0  # a proxy's HTML page instead of JSON
    html_status: int = 502
    forbidden: bool = False  # 403 ACCESS_DENIED (no role on the account / no scope)
    expired: bool = False


class LinkedInAdsTestServer:
    """The test-mode LinkedIn Ads API on 127.0.0.1 (a free port unless one is given)."""

    def __init__(
        self,
        *,
        accounts: Iterable[str] = s.TEST_MODE_ACCOUNTS,
        campaigns_per_account: int = 4,
        seed: int = 7,
        token: str = s.TEST_MODE_TOKEN,
        today: date | None = None,
        drop_date: date | None = None,
        history_days: int = 400,
        scenario: bool = True,
        dense: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.seed = seed
        self.token = token
        self.today = today or datetime.now(UTC).date()
        self.drop_date = drop_date or self.today
        self.history_start = self.today - timedelta(days=history_days - 1)
        self.campaigns_per_account = campaigns_per_account
        self.scenario = scenario
        self.dense = dense  # every campaign active with a row every day (benchmarks)
        self.host = host
        self.port = port
        self.faults = _Faults()
        self.requests: list[RequestRecord] = []
        self._overrides: dict[tuple[str, date], dict[str, Any] | None] = {}
        self._canned: list[tuple[str, int, dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        for account_id in accounts:
            self.account(str(account_id))
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ data
    def account(self, account_id: str) -> Account:
        """The account (made up, deterministically, the first time it is asked for)."""
        with self._lock:
            found = self._accounts.get(account_id)
            if found is None:
                first = not self._accounts
                found = self._make_account(account_id, scenario=first and self.scenario)
                self._accounts[account_id] = found
            return found

    def _make_account(self, account_id: str, *, scenario: bool) -> Account:
        n = len(self._accounts)
        campaigns = []
        for j in range(self.campaigns_per_account):
            cid = str(100_000_000 + (int(account_id) % 90_000) * 1000 + j + 1)
            name = (
                f"{_CAMPAIGN_NAMES[(j + n) % len(_CAMPAIGN_NAMES)]} "
                f"({_REGIONS[(j // len(_CAMPAIGN_NAMES) + n) % len(_REGIONS)]})"
            )
            if j >= len(_CAMPAIGN_NAMES) * len(_REGIONS):
                name = f"{name} #{j + 1}"
            u = [_unit(self.seed, cid, k) for k in range(5)]
            campaigns.append(
                Campaign(
                    campaign_id=cid,
                    account_id=account_id,
                    name=SCENARIO_NAME if scenario and j == 0 else name,
                    status="ACTIVE" if self.dense or u[0] < 0.9 else "PAUSED",
                    base_impressions=int(1500 + 3500 * u[1]),
                    base_ctr=0.029 + 0.004 * u[2],
                    cpc=Decimal(2 + int(5 * u[3] * 100) / 100).quantize(Decimal("0.01"))
                    + Decimal(int(u[4] * 10**6)) / Decimal(10**8),
                    conversion_rate=0.02 + 0.06 * u[4],
                    scenario=scenario and j == 0,
                )
            )
        return Account(
            account_id=account_id,
            name=f"Test Account {account_id}",
            currency=_CURRENCIES[int(account_id) % len(_CURRENCIES)] if n else "USD",
            campaigns=campaigns,
        )

    def campaigns(self) -> list[Campaign]:
        with self._lock:
            return [c for a in self._accounts.values() for c in a.campaigns]

    @property
    def scenario_campaign(self) -> Campaign | None:
        return next((c for c in self.campaigns() if c.scenario), None)

    def metrics(self, campaign: Campaign, day: date) -> dict[str, Any] | None:
        """The day's numbers of the campaign as the API reports them now (None: no row)."""
        if day < self.history_start or day > self.today:
            return None
        key = (campaign.campaign_id, day)
        if key in self._overrides:
            override = self._overrides[key]
            if override is None:
                return None
            base = self._generated(campaign, day) or {
                "impressions": 0,
                "clicks": 0,
                "cost": "0",
                "conversions": 0,
            }
            return {**base, **override}
        return self._generated(campaign, day)

    def _generated(self, campaign: Campaign, day: date) -> dict[str, Any] | None:
        if campaign.scenario:
            clicks = SCENARIO_CLICKS_BEFORE if day < self.drop_date else SCENARIO_CLICKS_AFTER
            return {
                "impressions": SCENARIO_IMPRESSIONS,
                "clicks": clicks,
                "cost": format(SCENARIO_CPC * clicks, "f"),
                "conversions": clicks // 20,
            }
        u = _units(5, self.seed, campaign.campaign_id, day.isoformat())
        if campaign.status != "ACTIVE" or (u[0] < 0.04 and not self.dense):
            return None  # no activity that day: LinkedIn leaves the row out
        weekend = 0.6 if day.weekday() >= 5 else 1.0
        impressions = int(campaign.base_impressions * (0.75 + 0.5 * u[1]) * weekend)
        clicks = round(impressions * campaign.base_ctr * (0.9 + 0.2 * u[2]))
        cost = campaign.cpc * clicks + Decimal(int(u[3] * 10**10)) / Decimal(10**16)
        conversions = round(clicks * campaign.conversion_rate * (0.5 + u[4]))
        return {
            "impressions": impressions,
            "clicks": clicks,
            "cost": format(cost, "f"),
            "conversions": conversions,
        }

    def restate(self, campaign_id: str, day: date, **metrics: Any) -> None:
        """Change a day's numbers (impressions, clicks, cost as text, conversions)."""
        unknown = set(metrics) - {"impressions", "clicks", "cost", "conversions"}
        if unknown:
            raise ValueError(f"unknown metrics {sorted(unknown)}")
        with self._lock:
            current = self._overrides.get((campaign_id, day)) or {}
            self._overrides[(campaign_id, day)] = {**current, **metrics}

    def remove(self, campaign_id: str, day: date) -> None:
        """The day's row disappears (e.g. all its clicks credited as invalid)."""
        with self._lock:
            self._overrides[(campaign_id, day)] = None

    def serve(
        self, path: str, body: bytes, *, status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next GET of ``path`` with exactly this body (a fixture file's bytes),
        once; several calls queue answers in order."""
        with self._lock:
            self._canned.append((path, status, dict(headers or {}), body))

    def configure(self, **changes: Any) -> None:
        """today, drop_date (date or ISO text), rate_limit_count, retry_after,
        server_error_count, expired, token."""
        with self._lock:
            for name, value in changes.items():
                if name in ("today", "drop_date"):
                    setattr(
                        self, name, date.fromisoformat(value) if isinstance(value, str) else value
                    )
                elif name == "token":
                    self.token = value
                elif hasattr(self.faults, name):
                    setattr(self.faults, name, value)
                else:
                    raise ValueError(f"unknown setting {name}")

    def elements(self, account_id: str, start: date, end: date) -> list[dict[str, Any]]:
        account = self.account(account_id)
        out = []
        day = start
        while day <= end:
            d = {"year": day.year, "month": day.month, "day": day.day}
            for campaign in account.campaigns:
                m = self.metrics(campaign, day)
                if m is None:
                    continue
                element: dict[str, Any] = {
                    "pivotValues": [f"{s.CAMPAIGN_URN_PREFIX}{campaign.campaign_id}"],
                    "dateRange": {"start": d, "end": d},
                    "impressions": m["impressions"],
                    "clicks": m["clicks"],
                    "costInLocalCurrency": m["cost"],
                }
                if m["conversions"]:  # zero metrics are left out, as LinkedIn does
                    element["externalWebsiteConversions"] = m["conversions"]
                out.append(element)
            day += timedelta(days=1)
        return out

    # ------------------------------------------------------------------ HTTP
    def handle(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        parts = urlsplit(target)
        path, query = parts.path, parts.query
        if path.startswith("/_test/"):
            return 404, {}, b""  # control requests go through handle_control
        status, extra, body, n = self._api(method, path, query, headers)
        with self._lock:
            self.requests.append(RequestRecord(method, path, query, status, n))
        return status, extra, body

    def _api(
        self, method: str, path: str, query: str, headers: dict[str, str]
    ) -> tuple[int, dict, bytes, int]:
        if method != "GET":
            return (*_error(405, "METHOD_NOT_ALLOWED", f"{method} is not supported"), 0)
        with self._lock:
            canned = next((c for c in self._canned if c[0] == path), None)
            if canned is not None:
                self._canned.remove(canned)
                return canned[1], canned[2], canned[3], -1
        if headers.get("authorization") != f"Bearer {self.token}":
            return (*_error(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600), 0)
        if self.faults.expired:
            return (
                *_error(
                    401, "EXPIRED_ACCESS_TOKEN", "The token used in the request has expired", 65601
                ),
                0,
            )
        if headers.get("x-restli-protocol-version") != s.RESTLI_PROTOCOL_VERSION:
            return (
                *_error(400, "ILLEGAL_ARGUMENT", "X-Restli-Protocol-Version 2.0.0 is required"),
                0,
            )
        if not _VERSION_RE.match(headers.get("linkedin-version", "")):
            return (
                *_error(426, "NONEXISTENT_VERSION", "A valid LinkedIn-Version header is required"),
                0,
            )
        with self._lock:
            f = self.faults
            if f.forbidden:
                message = f"Not enough permissions to access: {path.rsplit('/', 1)[-1]}"
                return (*_error(403, "ACCESS_DENIED", message, 100), 0)
            if f.rate_limit_count > 0:
                f.rate_limit_count -= 1
                extra = {"Retry-After": f.retry_after} if f.retry_after else {}
                status, _, body = _error(
                    429, "TOO_MANY_REQUESTS", "Resource level throttle limit reached"
                )
                return status, extra, body, 0
            if f.server_error_count > 0:
                f.server_error_count -= 1
                return (*_error(500, "INTERNAL_SERVER_ERROR", "Internal server error"), 0)
            if f.html_count > 0:
                f.html_count -= 1
                page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
                return f.html_status, {"Content-Type": "text/html"}, page, 0
            delay = f.slow_seconds if f.slow_count > 0 else 0.0
            f.slow_count = max(0, f.slow_count - 1)
        if delay:
            time.sleep(delay)  # the client gives up first; this answer goes nowhere
        raw = _raw_params(query)
        if path == s.ANALYTICS_PATH:
            return self._analytics(raw)
        m = re.fullmatch(r"/rest/adAccounts/(\d+)", path)
        if m:
            a = self.account(m.group(1))
            body = {
                "id": int(a.account_id),
                "name": a.name,
                "currency": a.currency,
                "status": "ACTIVE",
                "type": "BUSINESS",
                "reference": "urn:li:organization:1000",
                "test": True,
            }
            return 200, {}, orjson.dumps(body), 1
        m = re.fullmatch(r"/rest/adAccounts/(\d+)/adCampaigns", path)
        if m:
            return self._campaigns(m.group(1), raw)
        return (*_error(404, "NOT_FOUND", f"no resource at {path}"), 0)

    def _analytics(self, raw: dict[str, str]) -> tuple[int, dict, bytes, int]:
        for name, expected in (
            ("q", "analytics"),
            ("pivot", "CAMPAIGN"),
            ("timeGranularity", "DAILY"),
        ):
            if raw.get(name) != expected:
                return (*_invalid(name), 0)
        date_range = raw.get("dateRange", "")
        if not _DATE_RANGE_RE.match(date_range):
            return (*_invalid("dateRange"), 0)
        accounts = raw.get("accounts", "")
        if not _ACCOUNTS_RE.match(accounts):
            return (*_invalid("accounts"), 0)
        try:
            days = [date(*map(int, g)) for g in _DATE_PARTS_RE.findall(date_range)]
        except ValueError:
            return (*_invalid("dateRange"), 0)
        start, end = days[0], days[1] if len(days) > 1 else self.today
        if end < start:
            return (*_invalid("dateRange"), 0)
        elements: list[dict[str, Any]] = []
        for urn in unquote(accounts[len("List(") : -1]).split(","):
            elements += self.elements(urn.rsplit(":", 1)[-1], start, min(end, self.today))
        elements = elements[: s.MAX_ELEMENTS_PER_RESPONSE]  # LinkedIn cuts without a word
        body = {"paging": {"count": 10, "start": 0, "links": []}, "elements": elements}
        return 200, {}, orjson.dumps(body), len(elements)

    def _campaigns(self, account_id: str, raw: dict[str, str]) -> tuple[int, dict, bytes, int]:
        if raw.get("q") != "search":
            return (*_invalid("q"), 0)
        account = self.account(account_id)
        try:
            size = int(raw.get("pageSize", "100"))
            offset = (
                int(base64.urlsafe_b64decode(unquote(raw["pageToken"])).decode())
                if raw.get("pageToken")
                else 0
            )
        except ValueError:
            return (*_invalid("pageToken"), 0)
        if not 1 <= size <= 1000:
            return (*_invalid("pageSize"), 0)
        page = account.campaigns[offset : offset + size]
        created = int(
            datetime.combine(self.history_start, datetime.min.time(), UTC).timestamp() * 1000
        )
        elements = [
            {
                "id": int(c.campaign_id),
                "account": s.ACCOUNT_URN.format(account_id=account.account_id),
                "campaignGroup": f"urn:li:sponsoredCampaignGroup:{600_000_000 + int(account.account_id) % 90_000}",
                "name": c.name,
                "status": c.status,
                "type": "SPONSORED_UPDATES",
                "costType": "CPC",
                "objectiveType": "WEBSITE_VISIT",
                "dailyBudget": {"amount": "500.00", "currencyCode": account.currency},
                "runSchedule": {"start": created},
                "changeAuditStamps": {
                    "created": {"time": created},
                    "lastModified": {"time": created},
                },
            }
            for c in page
        ]
        metadata = {}
        if offset + size < len(account.campaigns):
            metadata["nextPageToken"] = base64.urlsafe_b64encode(
                str(offset + size).encode()
            ).decode()
        body = {"elements": elements, "metadata": metadata, "paging": {"count": size, "start": 0}}
        return 200, {}, orjson.dumps(body), len(elements)

    def handle_control(self, method: str, path: str, body: bytes) -> tuple[int, dict, bytes]:
        if path == "/_test/state" and method == "GET":
            return 200, {}, orjson.dumps(self.state())
        if path == "/_test/config" and method == "POST":
            try:
                config = orjson.loads(body or b"{}")
                for item in config.pop("restate", []):
                    item = dict(item)
                    self.restate(
                        item.pop("campaign_id"), date.fromisoformat(item.pop("date")), **item
                    )
                for item in config.pop("remove", []):
                    self.remove(item["campaign_id"], date.fromisoformat(item["date"]))
                self.configure(**config)
            except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
                return 400, {}, orjson.dumps({"error": str(exc)})
            return 200, {}, orjson.dumps(self.state())
        return 404, {}, orjson.dumps({"error": f"no route for {method} {path}"})

    def state(self) -> dict[str, Any]:
        scenario = self.scenario_campaign
        return {
            "today": self.today.isoformat(),
            "drop_date": self.drop_date.isoformat(),
            "history_start": self.history_start.isoformat(),
            "accounts": list(self._accounts),
            "campaigns": len(self.campaigns()),
            "scenario_campaign": scenario.campaign_id if scenario else None,
            "requests": len(self.requests),
            "faults": vars(self.faults),
        }

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                if path.startswith("/_test/"):
                    status, extra, payload = server.handle_control(self.command, path, body)
                else:
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    status, extra, payload = server.handle(self.command, self.path, headers)
                self.send_response(status)
                extra = {"Content-Type": "application/json", **extra}
                self.send_header("Content-Length", str(len(payload)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(OSError):  # the client may have timed out
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:  # quiet (and never logs headers)
                pass

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.base_url

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> LinkedInAdsTestServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def analytics_requests(self) -> list[RequestRecord]:
        return [r for r in self.requests if r.path == s.ANALYTICS_PATH]


def _raw_params(query: str) -> dict[str, str]:
    """Query parameters exactly as sent (not decoded): Rest.li syntax is checked raw."""
    out = {}
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            out[key] = value
    return out


def requested_range(query: str) -> tuple[date, date | None]:
    """(start, end) of an adAnalytics request's dateRange (for tests)."""
    days = [date(*map(int, g)) for g in _DATE_PARTS_RE.findall(_raw_params(query)["dateRange"])]
    return days[0], days[1] if len(days) > 1 else None


def _error(status: int, code: str, message: str, service_code: int | None = None):
    """An error body as LinkedIn's error-handling guide documents it."""
    body = {"status": status, "serviceErrorCode": service_code or status, "code": code}
    return status, {}, orjson.dumps({**body, "message": message})


def _invalid(parameter: str):
    return _error(400, "ILLEGAL_ARGUMENT", f"Parameter '{parameter}' is invalid")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="LinkedIn Ads API test-mode server (127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--accounts", default=",".join(s.TEST_MODE_ACCOUNTS))
    p.add_argument("--campaigns", type=int, default=4, help="campaigns per account")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--today", help="the server's today (YYYY-MM-DD; default: today, UTC)")
    p.add_argument("--drop-date", help="first day of the scripted CTR drop (default: today)")
    p.add_argument("--history-days", type=int, default=400)
    p.add_argument("--token", default=s.TEST_MODE_TOKEN)
    p.add_argument("--dense", action="store_true", help="every campaign active, a row every day")
    args = p.parse_args(argv)
    server = LinkedInAdsTestServer(
        accounts=[a.strip() for a in args.accounts.split(",") if a.strip()],
        campaigns_per_account=args.campaigns,
        seed=args.seed,
        token=args.token,
        today=date.fromisoformat(args.today) if args.today else None,
        drop_date=date.fromisoformat(args.drop_date) if args.drop_date else None,
        history_days=args.history_days,
        dense=args.dense,
        port=args.port,
    )
    url = server.start()
    print(url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
