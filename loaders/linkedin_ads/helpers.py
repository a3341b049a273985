"""HTTP client for the LinkedIn Marketing API (adAnalytics, adAccounts, adCampaigns),
Rest.li 2.0 query encoding, typed errors, retries, and parsing into arrow tables.

Nothing here knows about the warehouse. The access token travels only in the
``Authorization`` header and is scrubbed from every error text this module produces.

Rest.li 2.0 query syntax: ``(``, ``)``, ``:`` and ``,`` are syntax and stay unencoded;
values inside ``List(...)`` (the account URNs) are URL-encoded. A generic urlencode of the
whole query turns ``(`` into ``%28`` and LinkedIn answers 400 "Parameter 'dateRange' is
invalid", so the query string is built by hand (``analytics_query``) and handed to httpx
as is (httpx leaves these characters alone).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from loaders.linkedin_ads import settings as s
from outreach.http import backoff_delay, redact_secrets

redact = redact_secrets  # ``redact(text, secrets)``: every secret replaced by ``***``


# ---------------------------------------------------------------------------- errors
class LinkedInAdsError(Exception):
    """Base of every LinkedIn Ads failure; ``kind`` is a short machine-readable code."""

    kind = "linkedin_ads_error"


class LinkedInConfigError(LinkedInAdsError):
    """The loader cannot start: no token, no accounts, a bad connections file or argument."""

    kind = "config_error"


class LinkedInAuthError(LinkedInAdsError):
    """401: the access token is expired, revoked or invalid. Never retried."""

    kind = "auth_error"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.code = code


class LinkedInHTTPError(LinkedInAdsError):
    """Another 4xx (no permission on the account, a bad parameter): not retried."""

    kind = "http_error"

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


class LinkedInRateLimited(LinkedInAdsError):
    """429 on every attempt, after backing off."""

    kind = "rate_limited"

    def __init__(self, message: str, *, attempts: int, waited_s: float):
        super().__init__(message)
        self.attempts = attempts
        self.waited_s = waited_s


class LinkedInServerError(LinkedInAdsError):
    """5xx on every attempt."""

    kind = "server_error"


class LinkedInTransportError(LinkedInAdsError):
    """No answer (refused, reset, timed out) on every attempt."""

    kind = "transport_error"


class LinkedInDataError(LinkedInAdsError):
    """An answer or export file that is not what the API documents."""

    kind = "data_error"


# ---------------------------------------------------------------------------- Rest.li
def account_id_of(value: str | int) -> str:
    """``123``, ``"123"`` or ``"urn:li:sponsoredAccount:123"`` -> ``"123"``."""
    text = str(value).strip()
    prefix = "urn:li:sponsoredAccount:"
    if text.startswith(prefix):
        text = text[len(prefix) :]
    if not text.isdigit():
        raise LinkedInConfigError(
            f"not a LinkedIn ad account id: {value!r} (expected digits or "
            "urn:li:sponsoredAccount:<digits>)"
        )
    return text


def restli_date(d: date) -> str:
    return f"(year:{d.year},month:{d.month},day:{d.day})"


def restli_date_range(start: date, end: date) -> str:
    return f"(start:{restli_date(start)},end:{restli_date(end)})"


def restli_list(values: Iterable[str]) -> str:
    """``List(v1,v2)`` with each value URL-encoded (``:`` -> ``%3A``), commas kept."""
    return "List(" + ",".join(quote(v, safe="") for v in values) + ")"


def analytics_query(account_ids: Iterable[str], start: date, end: date) -> str:
    """The adAnalytics query string (q=analytics, pivot CAMPAIGN, DAILY) in Rest.li 2.0."""
    urns = [s.ACCOUNT_URN.format(account_id=a) for a in account_ids]
    params = [
        ("q", "analytics"),
        ("pivot", "CAMPAIGN"),
        ("timeGranularity", "DAILY"),
        ("dateRange", restli_date_range(start, end)),
        ("accounts", restli_list(urns)),
        ("fields", ",".join(s.ANALYTICS_FIELDS)),
    ]
    return "&".join(f"{key}={value}" for key, value in params)


def date_windows(start: date, end: date, days: int) -> Iterator[tuple[date, date]]:
    """Consecutive inclusive windows of at most ``days`` days covering start..end."""
    days = max(1, days)
    cursor = start
    while cursor <= end:
        stop = min(end, cursor + timedelta(days=days - 1))
        yield cursor, stop
        cursor = stop + timedelta(days=1)


# ---------------------------------------------------------------------------- client
@dataclass
class RetryPolicy:
    max_attempts: int = s.MAX_ATTEMPTS
    backoff_base_s: float = s.BACKOFF_BASE_S
    backoff_max_s: float = s.BACKOFF_MAX_S
    jitter: float = s.BACKOFF_JITTER

    def backoff(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (Retry-After wins when given)."""
        return backoff_delay(
            attempt,
            base_s=self.backoff_base_s,
            max_s=self.backoff_max_s,
            jitter=self.jitter,
            retry_after=retry_after,
        )


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    waited_s: float = 0.0
    analytics_requests: int = 0
    split_windows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "waited_s": round(self.waited_s, 3),
            "analytics_requests": self.analytics_requests,
            "split_windows": self.split_windows,
        }


def _error_text(response: httpx.Response) -> tuple[str | None, str]:
    """(code, message) from a LinkedIn error body ({status, code, message, serviceErrorCode})."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None, response.text[:300]
    if not isinstance(body, dict):
        return None, str(body)[:300]
    return body.get("code"), str(body.get("message") or body)[:300]


@dataclass
class LinkedInAdsClient:
    """A small client for the three endpoints the loader uses.

    429, 5xx and transport errors are retried with exponential backoff and jitter (a
    ``Retry-After`` header wins); 401 raises ``LinkedInAuthError`` at once, other 4xx
    ``LinkedInHTTPError``.
    """

    base_url: str
    token: str
    api_version: str = s.API_VERSION
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_s: float = s.HTTP_TIMEOUT_S
    sleep: Callable[[float], None] = time.sleep
    stats: ClientStats = field(default_factory=ClientStats)

    def __post_init__(self) -> None:
        self._http = httpx.Client(
            base_url=self.base_url.rstrip("/"),
            timeout=httpx.Timeout(self.timeout_s, connect=s.HTTP_CONNECT_TIMEOUT_S),
            headers={
                "Authorization": f"Bearer {self.token}",
                "LinkedIn-Version": self.api_version,
                "X-Restli-Protocol-Version": s.RESTLI_PROTOCOL_VERSION,
                "Accept": "application/json",
            },
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LinkedInAdsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- one request
    def _get(self, target: str) -> Any:
        """GET ``target`` (path + prebuilt query) with retries; the parsed JSON body."""
        waited = 0.0
        last: str = ""
        for attempt in range(1, self.retry.max_attempts + 1):
            self.stats.requests += 1
            retry_after = None
            try:
                response = self._http.get(target)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {redact(exc, [self.token])}"
                kind = "transport"
            else:
                status = response.status_code
                if status < 300:
                    try:
                        return orjson.loads(response.content)
                    except orjson.JSONDecodeError as exc:
                        raise LinkedInDataError(
                            f"LinkedIn answered {_path(target)} with a body that is not JSON"
                        ) from exc
                code, message = _error_text(response)
                message = redact(message, [self.token])
                if status == 401:
                    raise LinkedInAuthError(_auth_message(code, message), code=code)
                if status == 429:
                    self.stats.rate_limited += 1
                    retry_after = response.headers.get("Retry-After")
                    last = f"429 {message}"
                    kind = "rate_limited"
                elif status >= 500:
                    last = f"{status} {message}"
                    kind = "server"
                else:
                    hint = ""
                    if status == 403:
                        hint = (
                            " (the token's member needs a role on this ad account and the "
                            "r_ads_reporting scope)"
                        )
                    raise LinkedInHTTPError(
                        f"LinkedIn answered {_path(target)} with {status}"
                        f"{f' {code}' if code else ''}: {message}{hint}",
                        status=status,
                    )
            if attempt == self.retry.max_attempts:
                break
            pause = self.retry.backoff(attempt, retry_after)
            self.stats.retries += 1
            self.stats.waited_s += pause
            waited += pause
            self.sleep(pause)
        text = (
            f"LinkedIn {_path(target)} failed after {self.retry.max_attempts} attempts "
            f"({waited:.1f} s of backoff); last answer: {last}"
        )
        if kind == "rate_limited":
            raise LinkedInRateLimited(text, attempts=self.retry.max_attempts, waited_s=waited)
        if kind == "server":
            raise LinkedInServerError(text)
        raise LinkedInTransportError(text)

    # -------------------------------------------------------------- endpoints
    def account(self, account_id: str) -> dict[str, Any]:
        body = self._get(s.ACCOUNT_PATH.format(account_id=account_id))
        if not isinstance(body, dict):
            raise LinkedInDataError(f"adAccounts/{account_id}: expected an object")
        return body

    def campaigns(self, account_id: str) -> Iterator[dict[str, Any]]:
        """Every campaign of the account (search finder, cursor pagination)."""
        token: str | None = None
        while True:
            query = f"q=search&pageSize={s.CAMPAIGNS_PAGE_SIZE}"
            if token:
                query += f"&pageToken={quote(token, safe='')}"
            body = self._get(f"{s.CAMPAIGNS_PATH.format(account_id=account_id)}?{query}")
            elements = body.get("elements") if isinstance(body, dict) else None
            if not isinstance(elements, list):
                raise LinkedInDataError(f"adCampaigns of {account_id}: no elements list")
            yield from elements
            token = (body.get("metadata") or {}).get("nextPageToken")
            if not token:
                return

    def analytics(self, account_id: str, start: date, end: date) -> list[dict[str, Any]]:
        """One adAnalytics request: daily campaign rows of the account, start..end."""
        self.stats.analytics_requests += 1
        body = self._get(f"{s.ANALYTICS_PATH}?{analytics_query([account_id], start, end)}")
        elements = body.get("elements") if isinstance(body, dict) else None
        if not isinstance(elements, list):
            raise LinkedInDataError(f"adAnalytics of {account_id}: no elements list")
        return elements

    def daily_campaign_analytics(
        self, account_id: str, start: date, end: date, *, campaigns: int
    ) -> Iterator[tuple[date, date, list[dict[str, Any]]]]:
        """(window start, window end, elements) for start..end, in windows small enough to
        stay under the response cap; a window that comes back at the cap is split in two."""
        # strictly under the cap: an answer of exactly the cap size reads as cut and is split
        days = min(s.MAX_DAYS_PER_REQUEST, (s.MAX_ELEMENTS_PER_RESPONSE - 1) // max(1, campaigns))
        pending = list(date_windows(start, end, days))
        while pending:
            lo, hi = pending.pop(0)
            elements = self.analytics(account_id, lo, hi)
            if len(elements) >= s.MAX_ELEMENTS_PER_RESPONSE and hi > lo:
                self.stats.split_windows += 1
                mid = lo + timedelta(days=(hi - lo).days // 2)
                pending[:0] = [(lo, mid), (mid + timedelta(days=1), hi)]
                continue
            if len(elements) >= s.MAX_ELEMENTS_PER_RESPONSE:
                raise LinkedInDataError(
                    f"adAnalytics of {account_id} on {lo}: {len(elements)} campaign rows for "
                    "a single day reach the response cap; rows may be missing"
                )
            yield lo, hi, elements


def _path(target: str) -> str:
    return target.split("?", 1)[0]


def _auth_message(code: str | None, message: str) -> str:
    what = {
        "EXPIRED_ACCESS_TOKEN": "has expired",
        "REVOKED_ACCESS_TOKEN": "has been revoked",
        "INVALID_ACCESS_TOKEN": "is invalid",
    }.get(code or "", "was rejected")
    return (
        f"LinkedIn access token {what} (401 {code or 'UNAUTHORIZED'}: {message}). "
        "Create a new token with the r_ads_reporting scope (LinkedIn developer portal, "
        "OAuth 2.0 tools) and set LINKEDIN_ACCESS_TOKEN; nothing was loaded."
    )


# ---------------------------------------------------------------------------- parsing
ANALYTICS_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        pa.field("campaign_id", pa.string(), nullable=False),  # primary key
        pa.field("date", pa.date32(), nullable=False),
        ("impressions", pa.int64()),
        ("clicks", pa.int64()),
        ("cost_in_local_currency", pa.decimal128(s.COST_PRECISION, s.COST_SCALE)),
        ("external_website_conversions", pa.int64()),
    ]
)
_COST_QUANTUM = Decimal(1).scaleb(-s.COST_SCALE)


@dataclass
class AnalyticsRows:
    """Daily campaign rows as columns (before they become an arrow table)."""

    account_id: list[str | None] = field(default_factory=list)
    campaign_id: list[str] = field(default_factory=list)
    date: list[date] = field(default_factory=list)
    impressions: list[int] = field(default_factory=list)
    clicks: list[int] = field(default_factory=list)
    cost: list[str] = field(default_factory=list)
    conversions: list[int] = field(default_factory=list)
    rounded_costs: int = 0

    def __len__(self) -> int:
        return len(self.campaign_id)

    def add(
        self,
        account_id: str | None,
        campaign_id: str,
        day: date,
        impressions: int,
        clicks: int,
        cost: str,
        conversions: int,
    ) -> None:
        self.account_id.append(account_id)
        self.campaign_id.append(campaign_id)
        self.date.append(day)
        self.impressions.append(impressions)
        self.clicks.append(clicks)
        self.cost.append(cost)
        self.conversions.append(conversions)

    def extend_elements(self, account_id: str | None, elements: Iterable[Any]) -> None:
        for element in elements:
            self.add(account_id, *parse_element(element))

    def table(self) -> pa.Table:
        cost_type = ANALYTICS_SCHEMA.field("cost_in_local_currency").type
        costs = pa.array(self.cost, pa.string())
        try:
            cost = pc.cast(costs, cost_type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            # more decimals than the column keeps: round half-even at the last one, and count
            with localcontext(Context(prec=80, rounding=ROUND_HALF_EVEN)):
                exact = [_cost_decimal(v) for v in self.cost]
                rounded = [v.quantize(_COST_QUANTUM) for v in exact]
            self.rounded_costs = sum(1 for v, r in zip(exact, rounded, strict=True) if v != r)
            try:
                cost = pa.array(rounded, cost_type)
            except (pa.ArrowInvalid, OverflowError) as exc:
                raise LinkedInDataError(
                    f"a costInLocalCurrency has more than {s.COST_PRECISION - s.COST_SCALE} "
                    "integer digits"
                ) from exc
        return pa.table(
            [
                pa.array(self.account_id, pa.string()),
                pa.array(self.campaign_id, pa.string()),
                pa.array(self.date, pa.date32()),
                pa.array(self.impressions, pa.int64()),
                pa.array(self.clicks, pa.int64()),
                cost,
                pa.array(self.conversions, pa.int64()),
            ],
            schema=ANALYTICS_SCHEMA,
        )


def _count(element: dict[str, Any], name: str) -> int:
    value = element.get(name)
    if value is None:
        return 0  # LinkedIn leaves out metrics that are zero
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise LinkedInDataError(f"{name} is not a number: {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise LinkedInDataError(f"{name} is not a number: {value!r}") from exc
    if number != number.to_integral_value() or number < 0:
        raise LinkedInDataError(f"{name} is not a count: {value!r}")
    return int(number)


def _cost_decimal(value: Any) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise LinkedInDataError(f"costInLocalCurrency is not a decimal: {value!r}") from exc
    if not number.is_finite():
        raise LinkedInDataError(f"costInLocalCurrency is not a decimal: {value!r}")
    return number


def _cost_text(value: Any) -> str:
    """The cost as a plain decimal string (no exponent), exactly as sent."""
    if value is None:
        return "0"
    if isinstance(value, str):
        return value.strip()  # validated (and made exact) by the arrow cast in table()
    if isinstance(value, float):
        # only from hand-made export files: take the shortest repr, never binary noise
        value = repr(value)
    number = _cost_decimal(value)
    return format(number, "f")


def _day(value: Any) -> date:
    if not isinstance(value, dict):
        raise LinkedInDataError(f"dateRange.start is not a date object: {value!r}")
    try:
        return date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise LinkedInDataError(f"dateRange.start is not a date: {value!r}") from exc


def parse_element(element: Any) -> tuple[str, date, int, int, str, int]:
    """(campaign_id, date, impressions, clicks, cost text, conversions) of one element."""
    if not isinstance(element, dict):
        raise LinkedInDataError(f"an analytics element is not an object: {element!r:.200}")
    pivots = element.get("pivotValues") or (
        [element["pivotValue"]] if "pivotValue" in element else []
    )
    if not pivots or not isinstance(pivots[0], str):
        raise LinkedInDataError(f"an analytics element has no pivotValues: {element!r:.200}")
    urn = pivots[0]
    if not urn.startswith(s.CAMPAIGN_URN_PREFIX):
        raise LinkedInDataError(f"pivot value is not a campaign URN: {urn!r} (pivot=CAMPAIGN?)")
    date_range = element.get("dateRange")
    if not isinstance(date_range, dict):
        raise LinkedInDataError(f"an analytics element has no dateRange: {element!r:.200}")
    day = _day(date_range.get("start"))
    if date_range.get("end") is not None and _day(date_range["end"]) != day:
        raise LinkedInDataError(
            f"dateRange of {urn} spans more than a day ({date_range!r}): expected DAILY rows"
        )
    return (
        urn[len(s.CAMPAIGN_URN_PREFIX) :],
        day,
        _count(element, "impressions"),
        _count(element, "clicks"),
        _cost_text(element.get("costInLocalCurrency")),
        _count(element, "externalWebsiteConversions"),
    )


def _ms_to_iso(value: Any) -> str | None:
    """LinkedIn epoch milliseconds -> ISO-8601 UTC text (kept text in raw)."""
    if value is None:
        return None
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat()
    except (TypeError, ValueError, OverflowError):
        return None


def campaign_row(account_id: str, element: dict[str, Any]) -> dict[str, Any]:
    """One raw campaigns row from an adCampaigns element."""
    if not isinstance(element, dict) or element.get("id") is None:
        raise LinkedInDataError(f"a campaign element has no id: {element!r:.200}")
    audit = element.get("changeAuditStamps") or {}
    group = element.get("campaignGroup") or ""
    budget = element.get("dailyBudget") or {}
    schedule = element.get("runSchedule") or {}
    return {
        "campaign_id": str(element["id"]),
        "account_id": account_id,
        "name": element.get("name"),
        "status": element.get("status"),
        "type": element.get("type"),
        "cost_type": element.get("costType"),
        "objective_type": element.get("objectiveType"),
        "campaign_group_id": group.rsplit(":", 1)[-1] if group else None,
        "daily_budget_amount": budget.get("amount"),
        "daily_budget_currency": budget.get("currencyCode"),
        "run_schedule_start": _ms_to_iso(schedule.get("start")),
        "run_schedule_end": _ms_to_iso(schedule.get("end")),
        "created_at": _ms_to_iso((audit.get("created") or {}).get("time")),
        "last_modified_at": _ms_to_iso((audit.get("lastModified") or {}).get("time")),
    }


def account_row(account_id: str, element: dict[str, Any]) -> dict[str, Any]:
    """One raw accounts row from an adAccounts element."""
    return {
        "account_id": account_id,
        "name": element.get("name"),
        "currency": element.get("currency"),
        "status": element.get("status"),
        "type": element.get("type"),
    }


def read_export(data: bytes) -> list[dict[str, Any]]:
    """Elements of an exported adAnalytics response: ``{"elements": [...]}``, a bare list,
    or JSON Lines (one element or one response per line)."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        body = None
    if body is None:
        elements: list[dict[str, Any]] = []
        for n, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise LinkedInDataError(
                    f"line {n} is not JSON (expected an adAnalytics response, a list of "
                    "elements, or JSON Lines)"
                ) from exc
            elements.extend(
                item["elements"] if isinstance(item, dict) and "elements" in item else [item]
            )
        return elements
    if isinstance(body, dict) and isinstance(body.get("elements"), list):
        return body["elements"]
    if isinstance(body, list):
        return body
    raise LinkedInDataError(
        'expected an adAnalytics response ({"elements": [...]}) or a list of elements'
    )
