"""The Apify API v2 through the official ``apify-client``, typed errors, item parsing.

Nothing here knows about the warehouse. ``make_client`` configures the official client
(retries with backoff for 429 / 5xx / network errors, timeouts); ``wait_for_run`` and
``dataset_items`` add our timeout and our typed errors (``typed_error`` maps the client's
``ApifyApiError`` and transport errors onto them). The token travels only in the
``Authorization`` header and is scrubbed from every error text (``outreach.http.mask_secrets``).

Item parsing extracts fields *as given* (text) so that raw_apify keeps what the actor
said; normalising the item shapes into one row per profile happens in the dbt staging
model ``stg_apify__profile_items``, not here. The one normalisation done in Python is
``normalize_linkedin_url`` (the same rule as the dbt macro of that name), used only to
tell which requested profiles a dataset is missing.

``apify_client`` is imported lazily (it takes seconds): the job layer and the CLI's help
import this module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson

from loaders.apify_linkedin import settings as s
from outreach.tombstones import canonical_linkedin_url

if TYPE_CHECKING:
    from apify_client import ApifyClient
    from apify_client._models import Run


# ---------------------------------------------------------------------------- URLs
def normalize_linkedin_url(url: Any) -> str | None:
    """Canonical ``https://www.linkedin.com/<kind>/<slug>`` or None if not a LinkedIn URL:
    ``outreach.tombstones.canonical_linkedin_url``, the one rule shared with intake, the
    GDPR tombstones and erase scan, and the dbt macro ``normalize_linkedin_url``."""
    return canonical_linkedin_url(url)


# ---------------------------------------------------------------------------- secrets


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
    """HTTP 429 on every attempt, after the client's backoff."""

    kind = "rate_limited"

    def __init__(self, message: str, *, attempts: int):
        super().__init__(message)
        self.attempts = attempts


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


class ApifyInvalidResponse(ApifyError):
    """An answer that is not what the API documents (not JSON, not a run object)."""

    kind = "invalid_response"


class MalformedDataset(ApifyError):
    """The dataset is not a JSON array of profile objects."""

    kind = "malformed_dataset"


class EmptyDataset(ApifyError):
    """The run succeeded but its dataset holds no items."""

    kind = "empty_dataset"


# ---------------------------------------------------------------------------- client
def make_client(
    base_url: str,
    token: str,
    *,
    max_retries: int = s.MAX_RETRIES,
    min_retry_delay_s: float = s.MIN_RETRY_DELAY_S,
    http_timeout_s: float = s.HTTP_TIMEOUT_S,
) -> ApifyClient:
    """The official ``apify_client.ApifyClient``: its retries (429, 5xx, network errors, with
    exponential backoff and jitter from ``min_retry_delay_s``), its timeouts (every request
    ``http_timeout_s``; a waitForFinish poll that long plus what the server may hold it)."""
    from apify_client import ApifyClient

    if not token:
        raise ApifyError("no Apify token: set APIFY_TOKEN")
    timeout = timedelta(seconds=http_timeout_s)
    return ApifyClient(
        token,
        api_url=base_url,
        max_retries=max_retries,
        min_delay_between_retries=timedelta(seconds=min_retry_delay_s),
        timeout_short=timeout,
        timeout_medium=timeout,
        timeout_long=timeout,
        timeout_max=timeout + timedelta(seconds=s.MAX_WAIT_FOR_FINISH_S),
    )


def wait_for_run(
    client: ApifyClient, run_id: str, *, remaining_s: float, timeout_s: float, http_timeout_s: float
) -> Run:
    """The run once terminal (the client long-polls ``waitForFinish``); our timeout running
    out first raises ApifyRunTimeout after asking Apify to abort the run (so it stops costing
    money); FAILED / TIMED-OUT / ABORTED raise ApifyRunFailed."""
    run_client = client.run(run_id)
    held = min(max(remaining_s, 0.0), s.MAX_WAIT_FOR_FINISH_S)
    run = run_client.wait_for_finish(
        wait_duration=timedelta(seconds=max(remaining_s, 0.0)),
        timeout=timedelta(seconds=http_timeout_s + held),
    )
    if run is None:
        raise ApifyRunFailed(f"actor run {run_id} was not found", status="MISSING", run={})
    status = str(run.status)
    if status == "SUCCEEDED":
        return run
    if status in s.RUN_TERMINAL_STATUSES:
        message = run.status_message
        raise ApifyRunFailed(
            f"actor run {run_id} ended with status {status}" + (f": {message}" if message else ""),
            status=status,
            run=run.model_dump(mode="json", by_alias=True),
        )
    with contextlib.suppress(Exception):  # best effort: our timeout is the error to report
        run_client.abort()
    raise ApifyRunTimeout(
        f"actor run {run_id} did not finish within {timeout_s:g}s (last status {status}); "
        "asked Apify to abort it",
        last_status=status,
    )


def dataset_items(client: ApifyClient, dataset_id: str, *, page_size: int) -> Iterator[Any]:
    """Every item of the dataset, as the official client pages it (``clean=true``; it reads
    on while pages scan rows, however short a page is). Errors arrive typed."""
    try:
        yield from client.dataset(dataset_id).iterate_items(clean=True, chunk_size=page_size)
    except Exception as exc:
        typed = typed_error(client, exc, f"reading dataset {dataset_id}")
        if typed is None:
            raise
        if isinstance(typed, ApifyInvalidResponse):
            typed = MalformedDataset(f"dataset {dataset_id} is malformed: {typed}")
        raise typed from None


def typed_error(client: ApifyClient, exc: Exception, what: str) -> ApifyError | None:
    """Our typed error for an exception out of the official client (None: not the vendor's)."""
    from apify_client.errors import ApifyApiError, InvalidResponseBodyError, RateLimitError
    from pydantic import ValidationError

    if isinstance(exc, ApifyError):
        return exc
    if isinstance(exc, RateLimitError):
        return ApifyRateLimited(
            f"{what}: rate limited (HTTP 429 {exc.type or ''}) on all {exc.attempt} attempts",
            attempts=exc.attempt,
        )
    if isinstance(exc, ApifyApiError):
        text = f"{what}: HTTP {exc.status_code}" + (f" {exc.type}" if exc.type else "")
        if exc.status_code >= 500:
            return ApifyServerError(
                f"{text} from Apify on all {exc.attempt} attempts ({_short(exc.message)})",
                status=exc.status_code,
            )
        return ApifyHTTPError(
            f"{text}: {_short(exc.message)}", status=exc.status_code, error_type=exc.type
        )
    if isinstance(exc, InvalidResponseBodyError):
        return ApifyInvalidResponse(f"{what}: the answer is not valid JSON")
    if isinstance(exc, ValidationError):
        return ApifyInvalidResponse(
            f"{what}: the answer is not an Apify object ({exc.error_count()} invalid fields)"
        )
    if isinstance(exc, (ValueError, KeyError)):  # not a list / a pagination header missing
        return ApifyInvalidResponse(f"{what}: unexpected answer ({type(exc).__name__}: {exc})")
    http = client.http_client
    if http.is_timeout_error(exc):
        return ApifyTransportError(f"{what}: timed out ({type(exc).__name__}) on every attempt")
    if http.is_retryable_transport_error(exc):
        return ApifyTransportError(f"{what}: {type(exc).__name__}: {exc} on every attempt")
    return None


def _short(text: Any, limit: int = 200) -> str:
    return str(text or "")[:limit]


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
