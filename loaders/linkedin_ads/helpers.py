"""LinkedIn Marketing API over dlt's HTTP helpers: Rest.li 2.0 queries, typed errors, parsing.

Retries (429, 5xx, refused/reset connections, timeouts) with exponential backoff and
``Retry-After`` are dlt's ``dlt.sources.helpers.requests.Client``; campaign pages are dlt's
``RESTClient`` with a cursor paginator. What is left here is LinkedIn's: the Rest.li query
string, which errors mean what, and the shape of an adAnalytics element.

Rest.li 2.0 (https://learn.microsoft.com/linkedin/shared/api-guide/concepts/protocol-version):
``(``, ``)``, ``:`` and ``,`` are syntax and stay unencoded; values inside ``List(...)`` are
URL-encoded. A generic urlencode breaks it (LinkedIn answers 400 "Parameter 'dateRange' is
invalid"), so the query is built here and sent as part of the URL: ``requests`` leaves those
characters and ``%3A`` alone. The token travels only in the Authorization header and is
scrubbed from every error text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation, localcontext
from typing import Any
from urllib.parse import quote

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import requests
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import JSONResponseCursorPaginator

from loaders.linkedin_ads import settings as s
from outreach.events import OperatorError
from outreach.http import mask_secrets


# ---------------------------------------------------------------------------- errors
class LinkedInAdsError(Exception):
    """Base of every LinkedIn Ads failure; ``kind`` is a short machine-readable code."""

    kind = "linkedin_ads_error"


class LinkedInConfigError(LinkedInAdsError, OperatorError):
    kind = "config_error"  # no token, no accounts, a bad connections file or argument


class LinkedInAuthError(LinkedInAdsError):
    """401 (token expired, revoked, invalid) or 403 (no role on the account / no scope)."""

    kind = "auth_error"

    def __init__(self, message: str, *, status: int = 401, code: str | None = None):
        super().__init__(message)
        self.status, self.code = status, code


class LinkedInHTTPError(LinkedInAdsError):
    kind = "http_error"  # another 4xx (a bad parameter): not retried

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


class LinkedInRateLimited(LinkedInAdsError):
    kind = "rate_limited"  # 429 on every attempt


class LinkedInServerError(LinkedInAdsError):
    kind = "server_error"  # 5xx on every attempt


class LinkedInTransportError(LinkedInAdsError):
    kind = "transport_error"  # no answer (refused, reset, timed out) on every attempt


class LinkedInDataError(LinkedInAdsError):
    kind = "data_error"  # an answer or export file that is not what the API documents


# ---------------------------------------------------------------------------- Rest.li
def account_id_of(value: str | int) -> str:
    """``123``, ``"123"`` or ``"urn:li:sponsoredAccount:123"`` -> ``"123"``."""
    text = str(value).strip().removeprefix("urn:li:sponsoredAccount:")
    if not text.isdigit():
        raise LinkedInConfigError(
            f"not a LinkedIn ad account id: {value!r} (expected digits or "
            "urn:li:sponsoredAccount:<digits>)"
        )
    return text


def _restli_date(d: date) -> str:
    return f"(year:{d.year},month:{d.month},day:{d.day})"


def analytics_query(account_ids: Iterable[str], start: date, end: date) -> str:
    """The adAnalytics query string (q=analytics, pivot CAMPAIGN, DAILY) in Rest.li 2.0."""
    urns = ",".join(quote(s.ACCOUNT_URN.format(account_id=a), safe="") for a in account_ids)
    return (
        "q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY"
        f"&dateRange=(start:{_restli_date(start)},end:{_restli_date(end)})"
        f"&accounts=List({urns})&fields={','.join(s.ANALYTICS_FIELDS)}"
    )


# ---------------------------------------------------------------------------- client
@dataclass
class HttpSettings:
    """dlt ``Client`` retry settings (tests pass tiny ones)."""

    max_attempts: int = s.MAX_ATTEMPTS
    backoff_factor: float = s.BACKOFF_BASE_S
    max_delay_s: float = s.BACKOFF_MAX_S
    timeout_s: tuple[float, float] = (s.HTTP_CONNECT_TIMEOUT_S, s.HTTP_TIMEOUT_S)


@dataclass
class LinkedInAdsClient:
    """The three endpoints the loader reads; ``stats`` counts answers (429s, 5xx, ...)."""

    base_url: str
    token: str
    http: HttpSettings = field(default_factory=HttpSettings)
    stats: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self.session = Client(
            request_timeout=self.http.timeout_s,
            raise_for_status=False,
            request_max_attempts=self.http.max_attempts,
            request_backoff_factor=self.http.backoff_factor,
            request_max_retry_delay=self.http.max_delay_s,
            session_attrs={"hooks": {"response": [self._count]}},
        ).session
        self.session.headers.update(
            {
                "Authorization": f"Bearer {self.token}",
                "LinkedIn-Version": s.API_VERSION,
                "X-Restli-Protocol-Version": s.RESTLI_PROTOCOL_VERSION,
                "Accept": "application/json",
            }
        )

    def _count(self, response: requests.Response, *_a: Any, **_kw: Any) -> None:
        self.stats["requests"] += 1
        if response.status_code == 429:
            self.stats["rate_limited"] += 1
        elif response.status_code >= 500:
            self.stats["server_errors"] += 1

    def close(self) -> None:
        self.session.close()

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """dlt's retries are over: turn what is left into a typed error naming the request."""
        try:
            yield
        except requests.HTTPError as exc:  # raised by RESTClient for an error status
            raise_for_linkedin(exc.response, what, self.token, self.http.max_attempts)
            raise
        except requests.JSONDecodeError:
            raise LinkedInDataError(
                f"LinkedIn answered GET {what} with a body that is not JSON"
            ) from None
        except requests.RequestException as exc:  # refused, reset, timed out
            raise LinkedInTransportError(
                f"LinkedIn GET {what}: no answer after {self.http.max_attempts} attempts "
                f"({type(exc).__name__}: {mask_secrets(exc, [self.token])})"
            ) from None

    def get(self, target: str) -> Any:
        """GET ``target`` (path + prebuilt query); the parsed JSON body or a typed error."""
        what = target.split("?", 1)[0]
        with self._errors(what):
            response = self.session.get(f"{self.base_url}{target}")
        raise_for_linkedin(response, what, self.token, self.http.max_attempts)
        return self._json(response, what)

    def _json(self, response: requests.Response, what: str) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            kind = response.headers.get("Content-Type", "no content type")
            raise LinkedInDataError(
                f"LinkedIn answered GET {what} with a body that is not JSON ({kind}: "
                f"{mask_secrets(response.text[:80], [self.token])!r})"
            ) from None

    def account(self, account_id: str) -> dict[str, Any]:
        body = self.get(s.ACCOUNT_PATH.format(account_id=account_id))
        if not isinstance(body, dict):
            raise LinkedInDataError(f"adAccounts/{account_id}: expected an object")
        return body

    def campaigns(self, account_id: str) -> Iterator[dict[str, Any]]:
        """Every campaign of the account (search finder, cursor pages)."""
        path = s.CAMPAIGNS_PATH.format(account_id=account_id)
        pages = RESTClient(base_url=self.base_url, session=self.session).paginate(
            path,
            params={"q": "search", "pageSize": s.CAMPAIGNS_PAGE_SIZE},
            paginator=JSONResponseCursorPaginator(
                cursor_path="metadata.nextPageToken", cursor_param="pageToken"
            ),
            data_selector="elements",
            hooks={"response": [self._count, lambda r, *_a, **_k: r.raise_for_status()]},
        )
        with self._errors(path):
            for page in pages:
                yield from page

    def analytics(self, account_id: str, start: date, end: date) -> list[dict[str, Any]]:
        """One adAnalytics request: daily campaign rows of the account, start..end."""
        self.stats["analytics_requests"] = self.stats.get("analytics_requests", 0) + 1
        body = self.get(f"{s.ANALYTICS_PATH}?{analytics_query([account_id], start, end)}")
        elements = body.get("elements") if isinstance(body, dict) else None
        if not isinstance(elements, list):
            raise LinkedInDataError(f"adAnalytics of {account_id}: no elements list")
        return elements

    def analytics_page(self, account_id: str, start: date, end: date) -> tuple[pa.Table, int]:
        """One adAnalytics request as (arrow rows, rounded costs): parsed by arrow, else
        (an answer off the documented shape) element by element, with a clear error."""
        self.stats["analytics_requests"] = self.stats.get("analytics_requests", 0) + 1
        target = f"{s.ANALYTICS_PATH}?{analytics_query([account_id], start, end)}"
        with self._errors(s.ANALYTICS_PATH):
            response = self.session.get(f"{self.base_url}{target}")
        raise_for_linkedin(response, s.ANALYTICS_PATH, self.token, self.http.max_attempts)
        fast = response_table(account_id, response.content)
        if fast is not None:
            return fast
        body = self._json(response, s.ANALYTICS_PATH)
        elements = body.get("elements") if isinstance(body, dict) else None
        if not isinstance(elements, list):
            raise LinkedInDataError(f"adAnalytics of {account_id}: no elements list")
        return analytics_table(account_id, elements)

    def daily_campaign_analytics(
        self, account_id: str, start: date, end: date, *, campaigns: int
    ) -> Iterator[tuple[pa.Table, int]]:
        """Pages of elements for start..end in windows under the 15,000-element cap (no
        paging; LinkedIn cuts silently): a window answered at the cap is split in two."""
        days = min(s.MAX_DAYS_PER_REQUEST, (s.MAX_ELEMENTS_PER_RESPONSE - 1) // max(1, campaigns))
        pending = [
            (lo, min(end, lo + timedelta(days=days - 1)))
            for lo in (start + timedelta(days=n) for n in range(0, (end - start).days + 1, days))
        ]
        while pending:
            lo, hi = pending.pop(0)
            page = self.analytics_page(account_id, lo, hi)
            if page[0].num_rows >= s.MAX_ELEMENTS_PER_RESPONSE:
                if hi == lo:
                    raise LinkedInDataError(
                        f"adAnalytics of {account_id} on {lo}: {page[0].num_rows} campaign rows "
                        "for one day reach the response cap; rows may be missing"
                    )
                self.stats["split_windows"] = self.stats.get("split_windows", 0) + 1
                mid = lo + timedelta(days=(hi - lo).days // 2)
                pending[:0] = [(lo, mid), (mid + timedelta(days=1), hi)]
                continue
            yield page


def raise_for_linkedin(
    response: requests.Response, what: str, token: str, attempts: int | None = None
) -> None:
    """A typed error for a non-2xx answer (after dlt's retries), naming the request.

    Error bodies (https://learn.microsoft.com/linkedin/shared/api-guide/concepts/error-handling):
    ``{"status": 403, "serviceErrorCode": 100, "code": "ACCESS_DENIED", "message": "..."}``.
    """
    status = response.status_code
    if status < 300:
        return
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = {"message": response.text[:200]}
    if not isinstance(body, dict):
        body = {"message": str(body)[:200]}
    code = body.get("code")
    message = mask_secrets(body.get("message") or "", [token])
    tried = f" after {attempts} attempts" if attempts else ""
    text = f"LinkedIn answered GET {what} with {status}{f' {code}' if code else ''}: {message}"
    if status == 401:
        state = {
            "EXPIRED_ACCESS_TOKEN": "has expired",
            "REVOKED_ACCESS_TOKEN": "has been revoked",
            "INVALID_ACCESS_TOKEN": "is invalid",
        }.get(code or "", "was rejected")
        raise LinkedInAuthError(
            f"LinkedIn access token {state} ({text}). Create a new token with the "
            "r_ads_reporting scope (LinkedIn developer portal, OAuth 2.0 tools) and set "
            "LINKEDIN_ACCESS_TOKEN; nothing was loaded.",
            code=code,
        )
    if status == 403:
        raise LinkedInAuthError(
            f"{text}. The token needs the r_ads_reporting scope (reporting) and "
            "r_ads (accounts, campaigns), and its member a role on the ad account "
            "(at least VIEWER in Campaign Manager); nothing was loaded.",
            status=403,
            code=code,
        )
    if status == 429:
        raise LinkedInRateLimited(f"{text} (throttled{tried}; LinkedIn's limits reset daily)")
    if status >= 500:
        raise LinkedInServerError(f"{text}{tried}")
    raise LinkedInHTTPError(text, status=status)


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
_COUNTS = ("impressions", "clicks", "externalWebsiteConversions")


def _count(element: dict[str, Any], name: str) -> int:
    value = element.get(name)
    if value is None:
        return 0  # LinkedIn leaves out metrics that are zero
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise LinkedInDataError(f"{name} is not a number: {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise LinkedInDataError(f"{name} is not a number: {value!r}") from None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        raise LinkedInDataError(f"{name} is not a count: {value!r}")
    return int(number)


def _day(value: Any) -> date:
    try:
        return date(int(value["year"]), int(value["month"]), int(value["day"]))
    except (KeyError, TypeError, ValueError):
        raise LinkedInDataError(f"dateRange.start is not a date: {value!r}") from None


def _cost_text(value: Any) -> str:
    """The cost as sent (a decimal string); numbers from hand-made files via their repr."""
    if value is None:
        return "0"
    return value.strip() if isinstance(value, str) else repr(value)


def parse_element(element: Any) -> tuple[str, date, int, int, str, int]:
    """(campaign_id, date, impressions, clicks, cost text, conversions) of one element."""
    if not isinstance(element, dict):
        raise LinkedInDataError(f"an analytics element is not an object: {element!r:.200}")
    pivots = element.get("pivotValues") or [element.get("pivotValue")]
    urn = pivots[0]
    if not isinstance(urn, str):
        raise LinkedInDataError(f"an analytics element has no pivotValues: {element!r:.200}")
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
    impressions, clicks, conversions = (_count(element, n) for n in _COUNTS)
    cost = _cost_text(element.get("costInLocalCurrency"))
    return urn[len(s.CAMPAIGN_URN_PREFIX) :], day, impressions, clicks, cost, conversions


def analytics_table(account_id: str | None, elements: Iterable[Any]) -> tuple[pa.Table, int]:
    """(arrow table of daily campaign rows, how many costs were rounded).

    ``costInLocalCurrency`` (a decimal string) is cast to decimal128(38, 20), exact; one with
    more than 20 decimals is rounded half-even and counted, never turned into a float."""
    parsed = [parse_element(e) for e in elements]
    columns = list(zip(*parsed, strict=True)) if parsed else [[]] * 6
    cost, rounded = _costs(pa.array(columns[4], pa.string()))
    arrays = [
        pa.array([account_id] * len(parsed), pa.string()),
        pa.array(columns[0], pa.string()),
        pa.array(columns[1], pa.date32()),
        pa.array(columns[2], pa.int64()),
        pa.array(columns[3], pa.int64()),
        cost,
        pa.array(columns[5], pa.int64()),
    ]
    return pa.table(arrays, schema=ANALYTICS_SCHEMA), rounded


def _costs(costs: pa.Array) -> tuple[pa.Array, int]:
    """Cost texts as decimal128(38, 20), exact; more decimals are rounded and counted."""
    cost_type = ANALYTICS_SCHEMA.field("cost_in_local_currency").type
    try:
        return pc.cast(costs, cost_type), 0
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        with localcontext(Context(prec=80, rounding=ROUND_HALF_EVEN)):
            exact = [_decimal(v) for v in costs.to_pylist()]
            quantized = [v.quantize(Decimal(1).scaleb(-s.COST_SCALE)) for v in exact]
        rounded = sum(a != b for a, b in zip(exact, quantized, strict=True))
        try:
            return pa.array(quantized, cost_type), rounded
        except (pa.ArrowInvalid, OverflowError):
            raise LinkedInDataError(
                f"a costInLocalCurrency has more than {s.COST_PRECISION - s.COST_SCALE} "
                "integer digits"
            ) from None


_DAY = pa.struct([("year", pa.int64()), ("month", pa.int64()), ("day", pa.int64())])
_RESPONSE = pa.schema(
    [
        (
            "elements",
            pa.list_(
                pa.struct(
                    [
                        ("pivotValues", pa.list_(pa.string())),
                        ("dateRange", pa.struct([("start", _DAY), ("end", _DAY)])),
                        ("impressions", pa.int64()),
                        ("clicks", pa.int64()),
                        ("costInLocalCurrency", pa.string()),
                        ("externalWebsiteConversions", pa.int64()),
                    ]
                )
            ),
        )
    ]
)
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


def response_table(account_id: str | None, body: bytes) -> tuple[pa.Table, int] | None:
    """``analytics_table`` of an adAnalytics response body, parsed by arrow's JSON reader
    (no Python object per element). None when the body is not plainly the documented shape
    (a count sent as text, a missing date...): the per-element path then reads it and
    names what is wrong."""
    try:
        parsed = pj.read_json(
            pa.BufferReader(body),
            read_options=pj.ReadOptions(block_size=len(body) + 1, use_threads=False),
            parse_options=pj.ParseOptions(
                explicit_schema=_RESPONSE,
                unexpected_field_behavior="ignore",
                newlines_in_values=True,
            ),
        )
        lists = parsed.column("elements").combine_chunks()
        if parsed.num_rows != 1 or lists.null_count:
            return None
        e = lists.flatten()
        urn = pc.list_element(e.field("pivotValues"), 0)
        day = _date(e.field("dateRange").field("start"))
        end = e.field("dateRange").field("end")
        counts = [pc.fill_null(e.field(n), 0) for n in _COUNTS]
        valid = pc.and_(
            pc.starts_with(urn, s.CAMPAIGN_URN_PREFIX),
            pc.or_kleene(pc.is_null(end), pc.equal(_date(end), day)),
        )
        for count in counts:
            valid = pc.and_(valid, pc.greater_equal(count, 0))
        if e.null_count or day.null_count or not pc.all(pc.fill_null(valid, False)).as_py():
            return None
        cost_text = pc.utf8_trim_whitespace(pc.fill_null(e.field("costInLocalCurrency"), "0"))
        cost, rounded = _costs(cost_text)
    except _ARROW_ERRORS:
        return None
    n = len(e)
    arrays = [
        pa.nulls(n, pa.string()) if account_id is None else pa.repeat(account_id, n),
        pc.utf8_slice_codeunits(urn, len(s.CAMPAIGN_URN_PREFIX)),
        day,
        counts[0],
        counts[1],
        cost,
        counts[2],
    ]
    return pa.table(arrays, schema=ANALYTICS_SCHEMA), rounded


def _date(parts: pa.StructArray) -> pa.Array:
    text = [pc.cast(parts.field(n), pa.string()) for n in ("year", "month", "day")]
    text[1:] = [pc.utf8_lpad(t, 2, "0") for t in text[1:]]
    joined = pc.binary_join_element_wise(*text, "-")
    day = pc.cast(pc.strptime(joined, format="%Y-%m-%d", unit="s"), pa.date32())
    for name, part in (("year", pc.year), ("month", pc.month), ("day", pc.day)):
        if not pc.all(pc.fill_null(pc.equal(part(day), parts.field(name)), True)).as_py():
            raise pa.ArrowInvalid(f"not a calendar date in dateRange ({name})")  # 2025-02-30
    return day


def _decimal(value: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise LinkedInDataError(f"costInLocalCurrency is not a decimal: {value!r}")
    return number


def _ms_to_iso(value: Any) -> str | None:
    """LinkedIn epoch milliseconds -> ISO-8601 UTC text (kept text in raw)."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat()
    except (TypeError, ValueError, OverflowError):
        return None


def campaign_row(account_id: str, element: dict[str, Any]) -> dict[str, Any]:
    """One raw campaigns row from an adCampaigns element."""
    if not isinstance(element, dict) or element.get("id") is None:
        raise LinkedInDataError(f"a campaign element has no id: {element!r:.200}")
    audit, budget = element.get("changeAuditStamps") or {}, element.get("dailyBudget") or {}
    schedule, group = element.get("runSchedule") or {}, element.get("campaignGroup") or ""
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
    keys = ("name", "currency", "status", "type")
    return {"account_id": account_id, **{k: element.get(k) for k in keys}}


def read_export(data: bytes) -> list[Any]:
    """Elements of an exported adAnalytics response: ``{"elements": [...]}``, a bare list,
    or JSON Lines (one element or one response per line)."""
    try:
        docs = [orjson.loads(data)]
    except orjson.JSONDecodeError:
        docs = []
        for n, line in enumerate(data.splitlines(), start=1):
            if line.strip():
                try:
                    docs.append(orjson.loads(line))
                except orjson.JSONDecodeError:
                    raise LinkedInDataError(
                        f"line {n} is not JSON (expected an adAnalytics response, a list of "
                        "elements, or JSON Lines)"
                    ) from None
    if len(docs) == 1 and isinstance(docs[0], list):
        return docs[0]
    if len(docs) == 1 and not (isinstance(docs[0], dict) and "elements" in docs[0]):
        raise LinkedInDataError(
            'expected an adAnalytics response ({"elements": [...]}) or a list of elements'
        )
    out: list[Any] = []
    for doc in docs:
        out.extend(doc["elements"] if isinstance(doc, dict) and "elements" in doc else [doc])
    return out
