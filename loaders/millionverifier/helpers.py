"""HTTP side of the MillionVerifier loader: dlt's requests ``Client``, answers as raw rows,
typed errors. Nothing here knows about the warehouse.

Retries are dlt's (``dlt.sources.helpers.requests.Client``: exponential backoff on 429,
5xx, timeouts and transport errors, honouring ``Retry-After``), plus one condition of ours:
an HTTP 200 whose body is not the JSON object (or CSV report) asked for is retried too.
Errors arrive as HTTP 200 with ``result: error`` and an ``error`` text: credits running out
stops the run (``CreditsExhausted``), a rejected key stops it (``AuthError``), anything else
is the vendor's answer about that address and is kept like any other.

The API key travels as a query parameter (``api=``, ``key=`` for the bulk API), as the
vendor requires. So no text made here quotes a ``requests`` exception (their messages carry
the URL), ``mask_api_keys`` masks it in whatever we print, and a filter masks it in urllib3's
request log lines.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.request import getproxies

from dlt.sources.helpers.requests import Client, RequestException, Response, Timeout
from requests.utils import should_bypass_proxies

from loaders.millionverifier import settings as s
from outreach.events import OperatorError
from outreach.http import MASK, mask_secrets

_QUERY_SECRET = re.compile(r"(?i)([?&](?:api|key)=)[^&\s\"'#]+")


def mask_api_keys(text: Any, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret and every ``api=``/``key=`` query value masked."""
    return _QUERY_SECRET.sub(rf"\g<1>{MASK}", mask_secrets(text, secrets))


class _MaskApiKeys(logging.Filter):
    """urllib3 (under requests) logs each request line with its URL: mask the key first."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if (cleaned := mask_api_keys(message)) != message:
            record.msg, record.args = cleaned, ()
        return True


_MASK_API_KEYS = _MaskApiKeys()
_REQUEST_LOGGERS = ("urllib3.connectionpool", "httpx")


class VerifierError(Exception):
    """A MillionVerifier problem; the message is safe to print (no key)."""

    kind = "error"


class VerifierConfigError(VerifierError, OperatorError):
    """The run cannot start: no API key, unreadable emails file, bad argument."""

    kind = "config_error"


class CreditsExhausted(VerifierError):
    kind = "credits_exhausted"


class AuthError(VerifierError):
    kind = "auth_error"


class BulkFileFailed(VerifierError):
    kind = "bulk_failed"


class RequestFailed(VerifierError):
    """No usable answer after every attempt; ``reason`` says why."""

    kind = "request_failed"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason  # rate_limited | server_error | timeout | transport_error | bad_answer


def normalize_email(value: Any) -> str | None:
    """Trimmed, lowercased address (the form people.contact keeps); None when empty."""
    email = value.strip().lower() if isinstance(value, str) else ""
    return email or None


# ---------------------------------------------------------------------------- answers
def _text(value: Any) -> str | None:
    return (str(value).strip() or None) if value is not None else None


def _number(value: Any, kind: type) -> Any:
    try:
        return kind(float(value)) if kind is int else kind(value)
    except (TypeError, ValueError):
        return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(
        (_text(value) or "").lower()
    )


def answer_row(
    email: str,
    body: dict[str, Any],
    *,
    method: str,
    source_url: str,
    bulk_file_id: str | None = None,
) -> dict[str, Any]:
    """One answer as a raw row: the documented fields as given, typed; the whole body too."""
    lower = {k: ((_text(body.get(k)) or "").lower() or None) for k in ("result", "quality")}
    return {
        "email": email,
        **lower,
        **{k: _text(body.get(k)) for k in ("subresult", "didyoumean", "error")},
        **{k: _bool(body.get(k)) for k in ("free", "role", "livemode")},
        "resultcode": _number(body.get("resultcode"), int),
        "credits": _number(body.get("credits"), int),
        "executiontime": _number(body.get("executiontime"), float),
        "checked_at": datetime.now(UTC),
        "method": method,
        "source_url": source_url,
        "bulk_file_id": bulk_file_id,
        "response": body,
    }


def account_error(body: dict[str, Any]) -> VerifierError | None:
    """The account-level error an HTTP 200 body reports (credits out, key rejected), or
    None when the body is an answer about the address (``result: error`` included)."""
    error = (_text(body.get("error")) or "").lower()
    if "credit" in error:
        return CreditsExhausted(
            f"MillionVerifier credits ran out (the API answered: {mask_api_keys(body['error'])!r}, "
            f"credits left: {body.get('credits', 0)})"
        )
    if re.search(r"api[ _-]?key|\bkey\b|unauthori[sz]ed|forbidden", error):
        return AuthError(
            f"MillionVerifier rejected the API key (the API answered: {mask_api_keys(body['error'])!r})"
            "; check MILLIONVERIFIER_API_KEY"
        )
    return None


# ---------------------------------------------------------------------------- HTTP
def _json_object(response: Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None (parsed once per response)."""
    if not hasattr(response, "_mv_json"):
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        response._mv_json = parsed if isinstance(parsed, dict) else None  # type: ignore[attr-defined]
    return response._mv_json  # type: ignore[attr-defined]


def _unusable(response: Response | None, exception: BaseException | None) -> bool:
    """dlt retry condition: an HTTP 200 that is not the JSON object (or CSV report) asked for."""
    if response is None or response.status_code != 200:
        return False
    if response.request.path_url.startswith(s.BULK_DOWNLOAD_PATH):
        return response.text.lstrip().startswith("<")
    return _json_object(response) is None


def http_client(
    base_url: str,
    concurrency: int = 1,
    read_timeout_s: float = s.API_TIMEOUT_S + s.HTTP_TIMEOUT_MARGIN_S,
    stats: Counter | None = None,
    **retry: Any,
) -> Client:
    """dlt's retrying ``requests`` client with a pool of ``concurrency`` connections;
    ``retry`` overrides ``request_max_attempts``, ``request_backoff_factor`` and
    ``request_max_retry_delay``; every HTTP answer (retries too) is counted in ``stats``.
    Proxy settings are read from the environment once, not per request (requests' own
    per-request scan of the environment cost more than the request itself)."""
    for name in _REQUEST_LOGGERS:  # the key is in every URL: mask it in their log lines
        logging.getLogger(name).addFilter(_MASK_API_KEYS)  # once: same filter, no duplicate
    lock, stats = threading.Lock(), stats if stats is not None else Counter()

    def count(response: Response, *_args: Any, **_kw: Any) -> None:
        code = response.status_code
        with lock:
            stats["requests"] += 1
            stats["http_429"] += code == 429
            stats["http_5xx"] += code >= 500

    settings = {
        "request_max_attempts": s.MAX_ATTEMPTS,
        "request_backoff_factor": s.BACKOFF_FACTOR,
        "request_max_retry_delay": s.BACKOFF_MAX_S,
        **retry,
    }
    return Client(
        request_timeout=(min(s.HTTP_CONNECT_TIMEOUT_S, read_timeout_s), read_timeout_s),
        max_connections=concurrency,
        raise_for_status=False,
        retry_condition=_unusable,
        respect_retry_after_header=True,
        session_attrs={
            "hooks": {"response": [count]},
            "trust_env": False,
            "proxies": {} if should_bypass_proxies(base_url, None) else getproxies(),
        },
        **settings,
    )


@dataclass
class Api:
    """One account's endpoints over one retrying client (``http_client``)."""

    client: Client
    base_url: str
    key: str

    def request(self, method: str, path: str, what: str, **kw: Any) -> Response:
        """One request (retried by the client); what still fails becomes a typed, key-free
        error: ``RequestFailed``, or ``AuthError`` for 401/403. The key goes in as ``api=``
        (API v3) or ``key=`` (bulk API v2); the bulk API has its own host publicly."""
        base = self.base_url.rstrip("/")
        if path.startswith("/bulkapi/"):
            base = s.PUBLIC_BULK_BASE_URL if base == s.PUBLIC_BASE_URL else base
        kw["params"] = {("key" if path.startswith("/bulkapi/") else "api"): self.key,
                        **kw.get("params", {})}  # fmt: skip
        try:
            response = self.client.request(method, base + path, **kw)
        except Timeout:
            raise RequestFailed(f"{what}: timed out on every attempt", reason="timeout") from None
        except RequestException as exc:  # its text quotes the URL: only its type is kept
            reason = f"{what}: {type(exc).__name__} on every attempt"
            raise RequestFailed(reason, reason="transport_error") from None
        code = response.status_code
        if code in (401, 403):
            raise AuthError(f"{what}: MillionVerifier rejected the API key (HTTP {code}); "
                            "check MILLIONVERIFIER_API_KEY")  # fmt: skip
        if code == 429 or code >= 500:
            reason = "rate_limited" if code == 429 else "server_error"
            raise RequestFailed(f"{what}: HTTP {code} on every attempt", reason=reason)
        if code >= 400:
            raise VerifierError(
                f"{what}: HTTP {code}: {mask_api_keys(response.text[:200], [self.key])}"
            )
        if _unusable(response, None):
            raise RequestFailed(f"{what}: the answer is not usable (not JSON)", reason="bad_answer")
        return response

    def answer(self, method: str, path: str, what: str, **kw: Any) -> dict[str, Any]:
        """The JSON object of an answer; raises the account error it reports, if any."""
        body = _json_object(self.request(method, path, what, **kw)) or {}
        if (problem := account_error(body)) is not None:
            raise problem
        return body

    def credits_left(self) -> int | None:
        """Credits left (``GET /api/v3/credits``); None when the answer does not say."""
        body = _json_object(self.request("GET", s.CREDITS_PATH, "reading the credits")) or {}
        if isinstance(problem := account_error(body), AuthError):
            raise problem
        return _number(body.get("credits"), int)


@dataclass
class VerifyOutcome:
    """What a batch of checks gave: answers, emails without one, and why it stopped."""

    answers: list[dict[str, Any]] = field(default_factory=list)
    unanswered: dict[str, str] = field(default_factory=dict)  # email -> reason
    not_attempted: list[str] = field(default_factory=list)  # after a stop
    stopped: VerifierError | None = None
    bulk_file_id: str | None = None


def verify_many(api: Api, emails: list[str], *, concurrency: int,
                api_timeout_s: int = s.API_TIMEOUT_S) -> VerifyOutcome:  # fmt: skip
    """``GET /api/v3/`` per address on ``concurrency`` threads. Credits running out or a
    rejected key stops it: addresses not yet sent are then ``not_attempted``."""
    url = api.base_url.rstrip("/") + s.VERIFY_PATH
    outcome, stop = VerifyOutcome(), threading.Event()

    def check(email: str) -> None:
        if stop.is_set():
            outcome.not_attempted.append(email)
            return
        params = {"email": email, "timeout": api_timeout_s}
        try:
            body = api.answer("GET", s.VERIFY_PATH, f"verifying {email}", params=params)
            if not _text(body.get("result")):
                raise RequestFailed(f"verifying {email}: no result", reason="bad_answer")
        except RequestFailed as exc:
            outcome.unanswered[email] = exc.reason
            return
        except VerifierError as exc:  # credits out, key rejected
            outcome.not_attempted.append(email)
            outcome.stopped = outcome.stopped or exc
            stop.set()
            return
        outcome.answers.append(answer_row(email, body, method="single", source_url=url))
        if _number(body.get("credits"), int) == 0:  # that was the last credit
            outcome.stopped = outcome.stopped or CreditsExhausted(
                "MillionVerifier credits ran out (the last answer reported 0 credits left)"
            )
            stop.set()

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="mv-verify") as pool:
        list(pool.map(check, emails))
    order = {e: i for i, e in enumerate(emails)}
    outcome.not_attempted.sort(key=order.__getitem__)
    return outcome


def verify_bulk(api: Api, emails: list[str], *, poll_interval_s: float = s.BULK_POLL_INTERVAL_S,
                timeout_s: float = s.BULK_TIMEOUT_S,
                progress: Callable[[str], Any] = lambda _m: None) -> VerifyOutcome:  # fmt: skip
    """Upload the addresses as one file, poll until ``finished``, download every row.
    Vendor trouble does not raise: ``outcome.stopped`` says what ended the file."""
    outcome, n = VerifyOutcome(), len(emails)
    upload = {"file_contents": ("emails.csv", "".join(f"{e}\n" for e in ["email", *emails]))}
    try:
        info = api.answer("POST", s.BULK_UPLOAD_PATH, f"uploading {n} emails", files=upload)
        if not (file_id := _text(info.get("file_id"))):
            raise BulkFileFailed(f"bulk upload: no file_id in the answer ({mask_api_keys(info)})")
        outcome.bulk_file_id, params = file_id, {"file_id": file_id}
        progress(f"bulk file {file_id} uploaded ({n} emails); polling")
        deadline, last = time.monotonic() + timeout_s, None
        while (status := _bulk_status(api, file_id, params)) != "finished":
            if (percent := status[1]) != last:
                progress(f"bulk file {file_id}: {status[0] or 'in progress'} {percent}%")
                last = percent
            if time.monotonic() + poll_interval_s > deadline:
                raise BulkFileFailed(
                    f"bulk file {file_id} not finished after {timeout_s:.0f}s (status "
                    f"{status[0]!r}, {percent}%); its results stay downloadable from MillionVerifier"
                )
            time.sleep(poll_interval_s)
        params["filter"] = "all"
        report = api.request("GET", s.BULK_DOWNLOAD_PATH, f"downloading {file_id}", params=params)
        if (body := _json_object(report)) is not None:  # an error answer instead of the report
            raise account_error(body) or BulkFileFailed(
                f"bulk file {file_id}: download failed ({mask_api_keys(body.get('error') or body)})"
            )
    except VerifierError as exc:
        outcome.stopped, outcome.not_attempted = exc, list(emails)
        return outcome
    source_url, wanted = report.url.split("?")[0] + f"?file_id={file_id}&filter=all", set(emails)
    for row in csv.DictReader(io.StringIO(report.text.lstrip("\ufeff"))):
        row = {(k or "").strip().lower(): v for k, v in row.items()}
        if (email := normalize_email(row.get("email"))) in wanted and _text(row.get("result")):
            wanted.discard(email)
            outcome.answers.append(answer_row(email, row, method="bulk", source_url=source_url,
                                              bulk_file_id=file_id))  # fmt: skip
    outcome.unanswered = {e: "missing_from_bulk_results" for e in emails if e in wanted}
    return outcome


def _bulk_status(api: Api, file_id: str, params: dict[str, str]) -> tuple[str, Any] | str:
    """``"finished"``, or (status, percent) of a file still in progress; raises when the
    file ended without results."""
    info = _json_object(api.request("GET", s.BULK_FILEINFO_PATH, f"reading bulk file {file_id}",
                                    params=params)) or {}  # fmt: skip
    status = (_text(info.get("status")) or "").lower()
    if not status and (problem := account_error(info)) is not None:
        raise problem
    if status in s.BULK_FAILED_STATUSES:
        error = mask_api_keys(_text(info.get("error")) or "")
        if "credit" in error.lower():
            raise CreditsExhausted(
                f"bulk file {file_id}: MillionVerifier credits ran out ({error})"
            )
        raise BulkFileFailed(f"bulk file {file_id} ended with status {status!r}: {error}")
    return "finished" if status == "finished" else (status, info.get("percent"))
