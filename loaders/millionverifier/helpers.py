"""HTTP client for the MillionVerifier API (v3 single checks, bulk API v2), typed errors,
retries, bounded concurrency.

Nothing here knows about the warehouse. The API key travels as a query parameter (``api=``
for single checks, ``key=`` for the bulk API), as the vendor requires, so it is scrubbed
from every text this module produces (``redact``) and from httpx's own request log lines
(a filter on the ``httpx`` logger masks ``api=``/``key=`` query values). Errors raised here
never chain the httpx exception (whose request carries the URL with the key).

Single checks run on ``concurrency`` worker threads sharing one connection pool, so at
most ``concurrency`` requests are in flight. Each request is retried with exponential backoff and jitter on HTTP 429, 5xx and
transport errors (timeouts included); an email whose retries run out is *unanswered*
(nothing is recorded for it, so it stays due). Errors arrive as HTTP 200 with
``result: error`` and an ``error`` text: "insufficient credits" stops the run
(``CreditsExhausted``), a rejected key stops it (``AuthError``), anything else is the
vendor's answer for that address (result ``error``) and is recorded like any other.
"""

from __future__ import annotations

import csv
import io
import logging
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from loaders.millionverifier import settings as s
from outreach.http import REDACTED, backoff_delay, redact_secrets

log = logging.getLogger("loaders.millionverifier")

# ---------------------------------------------------------------------------- secrets
_QUERY_SECRET = re.compile(r"(?i)([?&](?:api|key)=)[^&\s\"'#]+")


def redact(text: Any, secrets: Iterable[str | None] = ()) -> str:
    """``text`` as a string with every secret and every ``api=``/``key=`` query value
    replaced by ``***``."""
    return _QUERY_SECRET.sub(rf"\g<1>{REDACTED}", redact_secrets(text, secrets))


class _RedactQuerySecrets(logging.Filter):
    """httpx logs every request line with its full URL (``?api=KEY&email=...``): mask the
    key before any handler sees the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


logging.getLogger("httpx").addFilter(_RedactQuerySecrets())


def normalize_email(value: Any) -> str | None:
    """Trimmed, lowercased address (the form people.contact keeps); None when empty."""
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    return email or None


def public_bulk_base_url(base_url: str) -> str:
    """The bulk API's base URL: its own host for the public API, else ``base_url``."""
    if base_url.rstrip("/") == s.PUBLIC_BASE_URL:
        return s.PUBLIC_BULK_BASE_URL
    return base_url.rstrip("/")


# ---------------------------------------------------------------------------- errors
class VerifierError(Exception):
    """A MillionVerifier problem; the message is safe to print (no key)."""

    kind = "error"


class VerifierConfigError(VerifierError):
    """The loader cannot start: no API key, unreadable emails file, bad argument."""

    kind = "config_error"


class CreditsExhausted(VerifierError):
    """The account has no credits left: stop sending requests."""

    kind = "credits_exhausted"


class AuthError(VerifierError):
    """The API rejected the key."""

    kind = "auth_error"


class RequestFailed(VerifierError):
    """One request failed on every attempt (429, 5xx, timeouts, unusable answers)."""

    kind = "request_failed"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason  # rate_limited | server_error | timeout | transport_error | bad_answer


class BulkFileFailed(VerifierError):
    """A bulk file ended without results (error, canceled, not finished in time)."""

    kind = "bulk_failed"


# ---------------------------------------------------------------------------- answers
@dataclass
class Answer:
    """The vendor's answer for one address, as given (text fields stripped)."""

    email: str
    result: str | None
    quality: str | None
    resultcode: int | None
    subresult: str | None
    free: bool | None
    role: bool | None
    didyoumean: str | None
    credits: int | None
    executiontime: float | None
    error: str | None
    livemode: bool | None
    checked_at: datetime
    method: str  # single | bulk
    source_url: str  # endpoint that answered, without the key
    bulk_file_id: str | None
    response: dict[str, Any]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = (_text(value) or "").lower()
    if text in {"true", "yes", "1"}:
        return True
    if text in {"false", "no", "0"}:
        return False
    return None


def _answer(
    email: str,
    body: dict[str, Any],
    *,
    method: str,
    source_url: str,
    bulk_file_id: str | None = None,
) -> Answer:
    result = (_text(body.get("result")) or "").lower() or None
    return Answer(
        email=email,
        result=result,
        quality=(_text(body.get("quality")) or "").lower() or None,
        resultcode=_int(body.get("resultcode")),
        subresult=_text(body.get("subresult")),
        free=_bool(body.get("free")),
        role=_bool(body.get("role")),
        didyoumean=_text(body.get("didyoumean")),
        credits=_int(body.get("credits")),
        executiontime=_float(body.get("executiontime")),
        error=_text(body.get("error")),
        livemode=_bool(body.get("livemode")),
        checked_at=datetime.now(UTC),
        method=method,
        source_url=source_url,
        bulk_file_id=bulk_file_id,
        response=body,
    )


def account_error(body: dict[str, Any]) -> VerifierError | None:
    """The account-level error an HTTP 200 body reports (credits out, key rejected), or
    None when the body is an answer about the address (``result: error`` included)."""
    error = (_text(body.get("error")) or "").lower()
    if not error:
        return None
    if "credit" in error:
        return CreditsExhausted(
            "MillionVerifier credits ran out (the API answered: "
            f"{redact(body.get('error'))!r}, credits left: {body.get('credits', 0)})"
        )
    if re.search(r"api[ _-]?key|\bkey\b|unauthori[sz]ed|forbidden", error):
        return AuthError(
            f"MillionVerifier rejected the API key (the API answered: {redact(body.get('error'))!r}); "
            "check MILLIONVERIFIER_API_KEY"
        )
    return None


# ---------------------------------------------------------------------------- retries
@dataclass
class RetryPolicy:
    """Bounded exponential backoff with jitter for 429, 5xx and transport errors."""

    max_attempts: int = s.MAX_ATTEMPTS
    base_s: float = s.BACKOFF_BASE_S
    max_s: float = s.BACKOFF_MAX_S
    jitter: float = s.BACKOFF_JITTER
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Backoff before attempt ``attempt + 1`` (attempt counts from 1); a Retry-After
        the server sent is honoured (capped at ``max_s``)."""
        return backoff_delay(
            attempt,
            base_s=self.base_s,
            max_s=self.max_s,
            jitter=self.jitter,
            rng=self.rng,
            retry_after=retry_after,
        )


@dataclass
class ClientStats:
    requests: int = 0
    rate_limited: int = 0  # 429 answers seen
    server_errors: int = 0  # 5xx answers seen
    timeouts: int = 0
    transport_errors: int = 0  # other than timeouts
    backoff_s: float = 0.0  # total time slept backing off (summed over workers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "http_429": self.rate_limited,
            "http_5xx": self.server_errors,
            "timeouts": self.timeouts,
            "transport_errors": self.transport_errors,
            "backoff_seconds": round(self.backoff_s, 3),
        }


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass
class VerifyOutcome:
    """What a batch of checks gave: answers, emails without one, and why it stopped."""

    answers: list[Answer] = field(default_factory=list)
    unanswered: dict[str, str] = field(default_factory=dict)  # email -> reason
    not_attempted: list[str] = field(default_factory=list)  # after a stop
    stopped: VerifierError | None = None
    bulk_file_id: str | None = None


# ---------------------------------------------------------------------------- client
class MillionVerifierClient:
    """MillionVerifier over httpx: explicit timeouts, retries, typed errors, no key leaks.

    Thread-safe: ``verify_many`` runs ``concurrency`` worker threads over one pooled
    ``httpx.Client`` (threads, not asyncio: httpx's sync path costs less CPU per request,
    and the work is waiting on the network).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        bulk_base_url: str | None = None,
        api_timeout_s: int = s.API_TIMEOUT_S,
        http_timeout_s: float | None = None,
        connect_timeout_s: float = s.HTTP_CONNECT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
    ):
        if not api_key:
            raise VerifierConfigError("no MillionVerifier API key: set MILLIONVERIFIER_API_KEY")
        self.base_url = base_url.rstrip("/")
        self.bulk_base_url = (bulk_base_url or public_bulk_base_url(self.base_url)).rstrip("/")
        self._key = api_key
        self.api_timeout_s = max(2, min(60, int(api_timeout_s)))
        read = (
            http_timeout_s
            if http_timeout_s is not None
            else self.api_timeout_s + s.HTTP_TIMEOUT_MARGIN_S
        )
        self.timeout = httpx.Timeout(read, connect=min(connect_timeout_s, read))
        self.retry = retry or RetryPolicy()
        self.stats = ClientStats()
        self._stats_lock = threading.Lock()

    def __repr__(self) -> str:  # never show the key
        return f"MillionVerifierClient(base_url={self.base_url!r}, api_key='***')"

    def clean(self, text: Any) -> str:
        return redact(text, (self._key,))

    def _count(self, name: str, amount: float = 1) -> None:
        with self._stats_lock:
            setattr(self.stats, name, getattr(self.stats, name) + amount)

    def _http(self, concurrency: int = 1) -> httpx.Client:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        return httpx.Client(
            timeout=self.timeout,
            limits=limits,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )

    # one request with retries --------------------------------------------------------
    def _request(
        self,
        http: httpx.Client,
        method: str,
        url: str,
        *,
        what: str,
        params: dict[str, Any],
        files: dict[str, Any] | None = None,
        expect_json: bool = True,
    ) -> httpx.Response:
        policy = self.retry
        attempt = 0
        while True:
            attempt += 1
            self._count("requests")
            reason: str
            detail: str
            retry_after: float | None = None
            try:
                response = http.request(method, url, params=params, files=files)
            except httpx.TimeoutException as exc:
                self._count("timeouts")
                reason, detail = "timeout", f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                self._count("transport_errors")
                reason, detail = "transport_error", f"{type(exc).__name__}: {self.clean(exc)}"
            else:
                status = response.status_code
                if status == 429:
                    self._count("rate_limited")
                    reason, detail = "rate_limited", "rate limited (HTTP 429)"
                    retry_after = _retry_after(response)
                elif status >= 500:
                    self._count("server_errors")
                    reason, detail = "server_error", f"HTTP {status} from MillionVerifier"
                elif status >= 400:
                    body = self.clean(response.text[:200])
                    if status in (401, 403):
                        raise AuthError(
                            f"{what}: MillionVerifier rejected the API key (HTTP {status}): "
                            f"{body}; check MILLIONVERIFIER_API_KEY"
                        )
                    raise VerifierError(f"{what}: HTTP {status} from MillionVerifier: {body}")
                elif expect_json and _json_object(response) is None:
                    reason, detail = "bad_answer", "the answer is not a JSON object"
                else:
                    return response
            if attempt >= policy.max_attempts:
                raise RequestFailed(
                    self.clean(f"{what}: {detail} on all {attempt} attempts"), reason=reason
                )
            delay = policy.delay(attempt, retry_after)
            self._count("backoff_s", delay)
            log.debug("%s: %s (attempt %d); retrying in %.2fs", what, detail, attempt, delay)
            time.sleep(delay)

    # single checks ---------------------------------------------------------------------
    def _verify_one(self, http: httpx.Client, email: str) -> Answer:
        url = self.base_url + s.VERIFY_PATH
        response = self._request(
            http,
            "GET",
            url,
            what=f"verifying {email}",
            params={"api": self._key, "email": email, "timeout": self.api_timeout_s},
        )
        body = _json_object(response) or {}
        problem = account_error(body)
        if problem is not None:
            raise problem
        if not _text(body.get("result")):
            raise RequestFailed(f"verifying {email}: the answer has no result", reason="bad_answer")
        return _answer(email, body, method="single", source_url=url)

    def verify_many(
        self,
        emails: Iterable[str],
        *,
        concurrency: int = s.DEFAULT_CONCURRENCY,
        on_answer: Callable[[Answer], Any] | None = None,
    ) -> VerifyOutcome:
        """Check each address with GET /api/v3/, at most ``concurrency`` in flight.

        Stops early (``outcome.stopped``) when the credits run out or the key is rejected;
        the addresses not sent then are in ``outcome.not_attempted``. ``on_answer`` is
        called (from worker threads, one at a time) with each answer as it arrives.
        """
        if concurrency < 1:
            raise VerifierConfigError(f"concurrency must be at least 1, got {concurrency}")
        outcome = VerifyOutcome()
        todo: queue.SimpleQueue[str] = queue.SimpleQueue()
        for email in emails:
            todo.put(email)
        stop = threading.Event()
        lock = threading.Lock()

        def halt(exc: VerifierError) -> None:
            with lock:
                if outcome.stopped is None:
                    outcome.stopped = exc
            stop.set()

        def worker(http: httpx.Client) -> None:
            while not stop.is_set():
                try:
                    email = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    answer = self._verify_one(http, email)
                except RequestFailed as exc:
                    with lock:
                        outcome.unanswered[email] = exc.reason
                    log.warning("%s", exc)
                    continue
                except VerifierError as exc:  # credits out, key rejected, unexpected 4xx
                    with lock:
                        outcome.unanswered[email] = exc.kind
                    halt(exc)
                    return
                with lock:
                    outcome.answers.append(answer)
                    if on_answer is not None:
                        on_answer(answer)
                if answer.credits is not None and answer.credits <= 0:
                    # this check used the last credit: the next request would be refused
                    halt(
                        CreditsExhausted(
                            "MillionVerifier credits ran out (the last answer reported 0 "
                            "credits left)"
                        )
                    )

        with self._http(concurrency) as http:
            threads = [
                threading.Thread(target=worker, args=(http,), name=f"mv-verify-{i}", daemon=True)
                for i in range(concurrency)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        while not todo.empty():
            outcome.not_attempted.append(todo.get_nowait())
        return outcome

    def credits(self) -> int | None:
        """Credits left (GET /api/v3/credits); None when the answer does not say."""
        with self._http() as http:
            response = self._request(
                http,
                "GET",
                self.base_url + s.CREDITS_PATH,
                what="reading the credits left",
                params={"api": self._key},
            )
        body = _json_object(response) or {}
        problem = account_error(body)
        if isinstance(problem, AuthError):
            raise problem
        return _int(body.get("credits"))

    # bulk file API ---------------------------------------------------------------------
    def verify_bulk(
        self,
        emails: Iterable[str],
        *,
        poll_interval_s: float = s.BULK_POLL_INTERVAL_S,
        timeout_s: float = s.BULK_TIMEOUT_S,
        progress: Callable[[str], Any] = lambda _m: None,
    ) -> VerifyOutcome:
        """Upload the addresses as a file, poll until it is finished, download all results.

        Raises nothing for vendor trouble: ``outcome.stopped`` says what ended the file
        (credits, key, file error, not finished in time); answered rows are kept.
        """
        emails = list(emails)
        outcome = VerifyOutcome()
        content = "email\n" + "".join(f"{e}\n" for e in emails)
        try:
            with self._http() as http:
                file_id = self._bulk_upload(http, content, len(emails))
                outcome.bulk_file_id = file_id
                progress(f"bulk file {file_id} uploaded ({len(emails)} emails); polling")
                self._bulk_wait(http, file_id, poll_interval_s, timeout_s, progress)
                rows = self._bulk_download(http, file_id)
        except VerifierError as exc:
            outcome.stopped = exc
            outcome.not_attempted = list(emails)
            return outcome
        wanted = set(emails)
        seen: set[str] = set()
        for answer in rows:
            if answer.email in wanted and answer.email not in seen:
                seen.add(answer.email)
                outcome.answers.append(answer)
        for email in emails:
            if email not in seen:
                outcome.unanswered[email] = "missing_from_bulk_results"
        return outcome

    def _bulk_upload(self, http: httpx.Client, content: str, n: int) -> str:
        response = self._request(
            http,
            "POST",
            self.bulk_base_url + s.BULK_UPLOAD_PATH,
            what=f"uploading a bulk file of {n} emails",
            params={"key": self._key},
            files={"file_contents": ("emails.csv", content.encode(), "text/csv")},
        )
        body = _json_object(response) or {}
        problem = account_error(body)
        if problem is not None:
            raise problem
        file_id = _text(body.get("file_id"))
        if not file_id:
            raise BulkFileFailed(
                self.clean(f"bulk upload: no file_id in the answer ({body.get('error') or body})")
            )
        return file_id

    def _bulk_wait(
        self,
        http: httpx.Client,
        file_id: str,
        poll_interval_s: float,
        timeout_s: float,
        progress: Callable[[str], Any],
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        last_percent = None
        while True:
            response = self._request(
                http,
                "GET",
                self.bulk_base_url + s.BULK_FILEINFO_PATH,
                what=f"reading bulk file {file_id}",
                params={"key": self._key, "file_id": file_id},
            )
            info = _json_object(response) or {}
            problem = account_error(info) if not _text(info.get("status")) else None
            if problem is not None:
                raise problem
            status = (_text(info.get("status")) or "").lower()
            if status == "finished":
                return info
            if status in s.BULK_FAILED_STATUSES:
                error = _text(info.get("error"))
                if error and "credit" in error.lower():
                    raise CreditsExhausted(
                        f"bulk file {file_id}: MillionVerifier credits ran out ({self.clean(error)})"
                    )
                raise BulkFileFailed(
                    self.clean(f"bulk file {file_id} ended with status {status!r}: {error or ''}")
                )
            percent = info.get("percent")
            if percent != last_percent:
                progress(f"bulk file {file_id}: {status or 'in progress'} {percent}%")
                last_percent = percent
            if time.monotonic() + poll_interval_s > deadline:
                raise BulkFileFailed(
                    f"bulk file {file_id} not finished after {timeout_s:.0f}s "
                    f"(status {status!r}, {percent}%); its results stay downloadable from "
                    "MillionVerifier"
                )
            time.sleep(poll_interval_s)

    def _bulk_download(self, http: httpx.Client, file_id: str) -> list[Answer]:
        url = self.bulk_base_url + s.BULK_DOWNLOAD_PATH
        response = self._request(
            http,
            "GET",
            url,
            what=f"downloading bulk file {file_id}",
            params={"key": self._key, "file_id": file_id, "filter": "all"},
            expect_json=False,
        )
        body = _json_object(response)
        if body is not None:  # an error answer instead of the report
            raise account_error(body) or BulkFileFailed(
                self.clean(f"bulk file {file_id}: download failed ({body.get('error') or body})")
            )
        reader = csv.DictReader(io.StringIO(response.text.lstrip("\ufeff")))
        source_url = f"{url}?file_id={file_id}&filter=all"
        answers = []
        for row in reader:
            row = {(k or "").strip().lower(): v for k, v in row.items()}
            email = normalize_email(row.get("email"))
            if email is None or not _text(row.get("result")):
                continue
            answers.append(
                _answer(email, row, method="bulk", source_url=source_url, bulk_file_id=file_id)
            )
        return answers


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one (parsed once per response)."""
    cached = getattr(response, "_mv_json", False)
    if cached is not False:
        return cached
    body = None
    if "json" in response.headers.get("content-type", ""):
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
    response._mv_json = body  # type: ignore[attr-defined]
    return body


def endpoint_host(url: str) -> str:
    """host:port of a base URL (for messages)."""
    parts = urlsplit(url)
    return parts.netloc or url
