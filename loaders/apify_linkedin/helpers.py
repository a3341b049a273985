"""HTTP client for the Apify API v2, typed errors, retries, and profile-item parsing.

Nothing here knows about the warehouse. The token travels only in the ``Authorization``
header and is scrubbed from every error text this module produces (``redact``).

Item parsing extracts fields *as given* (text) so that raw_apify keeps what the actor
said; normalising the two item shapes into one row per profile happens in the dbt
staging model ``stg_apify__profile_items``, not here. The one normalisation done in
Python is ``normalize_linkedin_url`` (the same rule as the dbt macro of that name), used
only to tell which requested profiles a dataset is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from loaders.apify_linkedin import settings as s
from outreach.http import backoff_delay, redact_secrets

# ---------------------------------------------------------------------------- URLs
# Mirrors dbt_project/macros/normalize/normalize_linkedin_url.sql (postgres__): lower(trim(x))
# then 'https://www.linkedin.com' || the first capture group; no match -> None.
# trim() strips spaces only; [:space:] is the ASCII whitespace class.
_LINKEDIN_RE = re.compile(
    r"^(?:[a-z]+://)?(?:[a-z0-9-]+\.)*linkedin\.com(/(?:in|company|school|showcase)/[^/?# \t\n\r\f\v]+)"
)


def normalize_linkedin_url(url: Any) -> str | None:
    """Canonical ``https://www.linkedin.com/<kind>/<slug>`` or None if not a LinkedIn URL.

    Lowercase; scheme, ``www.``/country subdomains, sub-pages, query, fragment and trailing
    slash removed. Same rule as the dbt macro ``normalize_linkedin_url``.
    """
    if not isinstance(url, str):
        return None
    match = _LINKEDIN_RE.match(url.strip(" ").lower())
    return f"https://www.linkedin.com{match.group(1)}" if match else None


# ---------------------------------------------------------------------------- secrets
redact = redact_secrets  # ``redact(text, secrets)``: every secret replaced by ``***``


# ---------------------------------------------------------------------------- errors
class ApifyError(Exception):
    """Base of every Apify failure; ``kind`` is a short machine-readable code."""

    kind = "apify_error"


class ApifyHTTPError(ApifyError):
    """A 4xx answer other than 429 (bad token, unknown actor, bad input): not retried."""

    kind = "http_error"

    def __init__(self, message: str, *, status: int, error_type: str | None = None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class ApifyServerError(ApifyError):
    """5xx answers on every attempt."""

    kind = "server_error"

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


class ApifyTransportError(ApifyError):
    """No answer (connection refused/reset, request timed out) on every attempt."""

    kind = "transport_error"


class ApifyRateLimited(ApifyError):
    """HTTP 429 on every attempt, after backing off."""

    kind = "rate_limited"

    def __init__(self, message: str, *, attempts: int, waited_s: float):
        super().__init__(message)
        self.attempts = attempts
        self.waited_s = waited_s


class ApifyRunFailed(ApifyError):
    """The actor run ended in FAILED, TIMED-OUT or ABORTED."""

    kind = "run_failed"

    def __init__(self, message: str, *, status: str, run: dict[str, Any]):
        super().__init__(message)
        self.status = status
        self.run = run


class ApifyRunTimeout(ApifyError):
    """The actor run did not reach a terminal status within our timeout."""

    kind = "timeout"

    def __init__(self, message: str, *, last_status: str | None):
        super().__init__(message)
        self.last_status = last_status


class MalformedDataset(ApifyError):
    """The dataset is not a JSON array of profile objects."""

    kind = "malformed_dataset"


class EmptyDataset(ApifyError):
    """The run succeeded but its dataset holds no items."""

    kind = "empty_dataset"


# ---------------------------------------------------------------------------- retries
@dataclass
class RetryPolicy:
    """Bounded exponential backoff with jitter for 429, 5xx and transport errors."""

    max_attempts: int = s.MAX_ATTEMPTS
    base_s: float = s.BACKOFF_BASE_S
    max_s: float = s.BACKOFF_MAX_S
    jitter: float = s.BACKOFF_JITTER
    sleep: Callable[[float], Any] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Backoff before attempt ``attempt + 1`` (attempt counts from 1)."""
        return backoff_delay(
            attempt, base_s=self.base_s, max_s=self.max_s, jitter=self.jitter, rng=self.rng
        )


@dataclass
class ClientStats:
    requests: int = 0
    rate_limited: int = 0  # 429 answers seen
    server_errors: int = 0  # 5xx answers seen
    transport_errors: int = 0
    backoff_s: float = 0.0  # total time slept backing off

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "http_429": self.rate_limited,
            "http_5xx": self.server_errors,
            "transport_errors": self.transport_errors,
            "backoff_seconds": round(self.backoff_s, 3),
        }


# ---------------------------------------------------------------------------- client
def _error_detail(response: httpx.Response) -> tuple[str | None, str]:
    """(error type, message) from an Apify error body {"error": {"type", "message"}}."""
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error.get("type"), str(error.get("message") or error.get("type") or "")
    return None, response.text[:200]


@dataclass
class DatasetPage:
    offset: int
    items: list[Any]
    total: int | None


class ApifyClient:
    """Apify API v2 over httpx with explicit timeouts, retries and typed errors."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        retry: RetryPolicy | None = None,
        timeout_s: float = s.HTTP_TIMEOUT_S,
        connect_timeout_s: float = s.HTTP_CONNECT_TIMEOUT_S,
        poll_interval_s: float = s.POLL_INTERVAL_S,
        page_size: int = s.PAGE_SIZE,
    ):
        if not token:
            raise ApifyError("no Apify token: set APIFY_TOKEN")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.retry = retry or RetryPolicy()
        self.poll_interval_s = poll_interval_s
        self.page_size = page_size
        self.stats = ClientStats()
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            follow_redirects=False,
        )

    # context manager -------------------------------------------------------------------
    def __enter__(self) -> ApifyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:  # never show the token
        return f"ApifyClient(base_url={self.base_url!r}, token='***')"

    def _clean(self, text: Any) -> str:
        return redact(text, (self._token,))

    # one request with retries ----------------------------------------------------------
    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        policy = self.retry
        attempt = 0
        waited = 0.0
        while True:
            attempt += 1
            self.stats.requests += 1
            failure: str
            try:
                response = self._http.request(method, path, params=params, json=json)
            except httpx.TimeoutException as exc:
                self.stats.transport_errors += 1
                failure = f"timed out ({type(exc).__name__})"
                if attempt >= policy.max_attempts:
                    raise ApifyTransportError(
                        self._clean(f"{what}: {failure} on all {attempt} attempts")
                    ) from None
            except httpx.TransportError as exc:
                self.stats.transport_errors += 1
                failure = f"{type(exc).__name__}: {exc}"
                if attempt >= policy.max_attempts:
                    raise ApifyTransportError(
                        self._clean(f"{what}: {failure} on all {attempt} attempts")
                    ) from None
            else:
                status = response.status_code
                if status < 400:
                    return response
                error_type, message = _error_detail(response)
                if status == 429:
                    self.stats.rate_limited += 1
                    if attempt >= policy.max_attempts:
                        raise ApifyRateLimited(
                            self._clean(
                                f"{what}: rate limited (HTTP 429 {error_type or ''}) on all "
                                f"{attempt} attempts over {waited:.1f}s of backoff"
                            ),
                            attempts=attempt,
                            waited_s=waited,
                        )
                elif status >= 500:
                    self.stats.server_errors += 1
                    if attempt >= policy.max_attempts:
                        raise ApifyServerError(
                            self._clean(
                                f"{what}: HTTP {status} from Apify on all {attempt} attempts"
                                + (f" ({message})" if message else "")
                            ),
                            status=status,
                        )
                else:
                    raise ApifyHTTPError(
                        self._clean(
                            f"{what}: HTTP {status}"
                            + (f" {error_type}" if error_type else "")
                            + (f": {message}" if message else "")
                        ),
                        status=status,
                        error_type=error_type,
                    )
            delay = policy.delay(attempt)
            waited += delay
            self.stats.backoff_s += delay
            policy.sleep(delay)

    def _data(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise ApifyError(f"{what}: the answer is not JSON") from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or not data.get("id"):
            raise ApifyError(f"{what}: the answer has no run object (data.id)")
        return data

    # API calls ---------------------------------------------------------------------------
    def start_run(self, actor_id: str, run_input: dict[str, Any]) -> dict[str, Any]:
        """POST /v2/acts/{actorId}/runs: start the actor asynchronously; the run object."""
        path = s.RUNS_PATH.format(actor_id=actor_id)
        response = self._request("POST", path, what=f"starting actor {actor_id}", json=run_input)
        return self._data(response, f"starting actor {actor_id}")

    def get_run(self, run_id: str) -> dict[str, Any]:
        """GET /v2/actor-runs/{runId}: the run object (status, defaultDatasetId, ...)."""
        response = self._request(
            "GET", s.RUN_PATH.format(run_id=run_id), what=f"polling run {run_id}"
        )
        return self._data(response, f"polling run {run_id}")

    def abort_run(self, run_id: str) -> None:
        """POST /v2/actor-runs/{runId}/abort; best effort (errors are swallowed)."""
        with contextlib.suppress(ApifyError):
            self._request("POST", s.ABORT_PATH.format(run_id=run_id), what=f"aborting {run_id}")

    def wait_for_run(
        self,
        run_id: str,
        *,
        timeout_s: float,
        started: float | None = None,
        on_status: Callable[[dict[str, Any]], Any] | None = None,
    ) -> dict[str, Any]:
        """Poll until the run reaches a terminal status; the SUCCEEDED run object.

        Raises ApifyRunFailed for FAILED / TIMED-OUT / ABORTED and ApifyRunTimeout when
        ``timeout_s`` (counted from ``started``, a time.monotonic() value) runs out; the
        run is then asked to abort so it stops costing money.
        """
        started = time.monotonic() if started is None else started
        last_status: str | None = None
        while True:
            run = self.get_run(run_id)
            status = str(run.get("status") or "").upper()
            if status != last_status and on_status:
                on_status(run)
            last_status = status
            if status == "SUCCEEDED":
                return run
            if status in s.RUN_TERMINAL_STATUSES:
                message = run.get("statusMessage")
                raise ApifyRunFailed(
                    self._clean(
                        f"actor run {run_id} ended with status {status}"
                        + (f": {message}" if message else "")
                    ),
                    status=status,
                    run=run,
                )
            remaining = timeout_s - (time.monotonic() - started)
            if remaining <= 0:
                self.abort_run(run_id)
                raise ApifyRunTimeout(
                    f"actor run {run_id} did not finish within {timeout_s:g}s "
                    f"(last status {status or 'unknown'}); asked Apify to abort it",
                    last_status=status or None,
                )
            time.sleep(min(self.poll_interval_s, remaining))

    def iter_dataset_pages(self, dataset_id: str, *, offset: int = 0) -> Iterator[DatasetPage]:
        """GET /v2/datasets/{id}/items page by page (``clean=true``); one page in memory.

        Raises MalformedDataset when a page is not a JSON array.
        """
        limit = self.page_size
        total: int | None = None
        while True:
            response = self._request(
                "GET",
                s.ITEMS_PATH.format(dataset_id=dataset_id),
                what=f"reading dataset {dataset_id} at offset {offset}",
                params={"offset": offset, "limit": limit, "clean": "true", "format": "json"},
            )
            header_total = response.headers.get("X-Apify-Pagination-Total")
            if header_total is not None and header_total.isdigit():
                total = int(header_total)
            try:
                items = orjson.loads(response.content)
            except orjson.JSONDecodeError as exc:
                raise MalformedDataset(
                    f"dataset {dataset_id} is malformed: the page at offset {offset} is not "
                    f"valid JSON ({exc})"
                ) from None
            if not isinstance(items, list):
                raise MalformedDataset(
                    f"dataset {dataset_id} is malformed: the page at offset {offset} is a JSON "
                    f"{type(items).__name__}, expected an array of items"
                )
            if items:
                yield DatasetPage(offset=offset, items=items, total=total)
            offset += len(items)
            if not items or len(items) < limit or (total is not None and offset >= total):
                return


# ---------------------------------------------------------------------------- items
# Columns extracted from an item, as given, in this order (see item_fields).
FIELD_NAMES = (
    "linkedin_url",  # linkedinUrl, else profileUrl, else url
    "input_url",  # inputUrl: the requested URL, when the actor echoes it
    "full_name",  # fullName
    "first_name",  # firstName
    "last_name",  # lastName
    "headline",  # headline
    "job_title",  # jobTitle
    "company_name",  # companyName
    "company_linkedin_url",  # companyLinkedinUrl
    "experience",  # experience[] as canonical JSON, when it is a list
)
_JSON_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _text(value: Any) -> str | None:
    """A scalar as text; None for null, blank strings, objects and arrays."""
    if value is None:
        return None
    if value.__class__ is str:  # the common case first: this runs ~10 times per item
        return value if value and not value.isspace() else None
    if isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if text.strip() else None


def canonical_json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON with sorted keys: the same item always gives the same bytes."""
    return orjson.dumps(value, option=_JSON_OPTIONS)


def canonical_json(value: Any) -> str:
    return canonical_json_bytes(value).decode()


def item_key(dataset_id: str, canonical: str | bytes) -> str:
    """Dedupe key of one raw item: sha256 of dataset id + canonical item JSON."""
    data = canonical.encode() if isinstance(canonical, str) else canonical
    return hashlib.sha256(dataset_id.encode() + b"\n" + data).hexdigest()


def item_fields(item: dict[str, Any]) -> tuple[str | None, ...]:
    """The FIELD_NAMES values of one item, as given (text)."""
    get = item.get
    url = _text(get("linkedinUrl")) or _text(get("profileUrl")) or _text(get("url"))
    experience = get("experience")
    return (
        url,
        _text(get("inputUrl")),
        _text(get("fullName")),
        _text(get("firstName")),
        _text(get("lastName")),
        _text(get("headline")),
        _text(get("jobTitle")),
        _text(get("companyName")),
        _text(get("companyLinkedinUrl")),
        canonical_json(experience) if isinstance(experience, list) else None,
    )


def observed_urls(fields: tuple[str | None, ...]) -> tuple[str | None, str | None] | None:
    """(normalised item URL, normalised requested URL) when the item is a usable profile
    observation - a LinkedIn profile URL and a name - else None."""
    if not (fields[2] or fields[3] or fields[4]):
        return None
    own = normalize_linkedin_url(fields[0])
    requested = normalize_linkedin_url(fields[1]) if fields[1] else None
    return (own, requested) if own or requested else None


@dataclass(frozen=True)
class ParsedItem:
    """Fields extracted from one dataset item, as given (text)."""

    linkedin_url: str | None
    input_url: str | None
    full_name: str | None
    first_name: str | None
    last_name: str | None
    headline: str | None
    job_title: str | None
    company_name: str | None
    company_linkedin_url: str | None
    experience: str | None  # canonical JSON of experience[] when it is a list
    item: str  # canonical JSON of the whole item

    @property
    def profile_urls(self) -> set[str]:
        """Normalised URLs this item answers for (its own URL and the requested one)."""
        urls = observed_urls(tuple(getattr(self, n) for n in FIELD_NAMES))
        return {u for u in urls or () if u}

    @property
    def is_profile(self) -> bool:
        """A usable observation: a LinkedIn profile URL and a name."""
        return bool(self.profile_urls)


def parse_item(item: dict[str, Any]) -> ParsedItem:
    return ParsedItem(*item_fields(item), item=canonical_json(item))
