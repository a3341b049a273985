"""HTTP checks of company websites and news pages (httpx, asyncio); nothing here knows the
warehouse.

``check_pages(targets, ...)`` GETs every URL with bounded concurrency and **one request at
a time per host**, honours each host's robots.txt (``urllib.robotparser``; unreachable
robots.txt: the host's failure is the page's), follows redirects itself so that every hop
is recorded and loops are caught, and bounds every request three ways: a connect timeout,
a read timeout between reads, and an overall per-request deadline (``asyncio.timeout``) so
a host that trickles a byte at a time cannot stall the run; bodies are streamed and cut at
``max_bytes``. Each URL gives one ``PageCheck`` with an ``outcome`` (settings.OUTCOMES):
DNS, TLS, connect, timeout, too-large, redirect-loop failures are recorded as such.

``HostsTransport`` maps host names to local addresses without DNS (an /etc/hosts for one
client): test mode and the benchmark point many company hosts at servers on 127.0.0.1.
Unmapped hosts fail as a DNS error would; nothing leaves loopback.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
import socket
import ssl
import time
import urllib.robotparser
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from loaders.company_pages import settings as s

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


# ---------------------------------------------------------------------------- domains
@lru_cache(maxsize=1)
def _extractor():
    import tldextract

    # the Public Suffix List snapshot bundled with tldextract: no download, ever
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registrable_domain(url_or_host: str | None) -> str | None:
    """The registrable domain (eTLD+1 by the Public Suffix List) of a URL or host:
    ``https://shop.acme.co.uk/x`` -> ``acme.co.uk``. A host under no known suffix (an IP,
    ``localhost``) is its own domain, lowercased and without ``www.``."""
    if not url_or_host:
        return None
    host = urlsplit(url_or_host).hostname if "//" in url_or_host else url_or_host.lower()
    if not host:
        return None
    parts = _extractor()(host)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return host.removeprefix("www.")


# ---------------------------------------------------------------------------- results
@dataclass
class PageCheck:
    """What one check of one URL found."""

    url: str  # as asked
    url_type: str
    company_id: int | None
    outcome: str
    http_status: int | None = None
    final_url: str | None = None
    redirects: list[dict[str, Any]] = field(default_factory=list)  # {status, url, location}
    content_type: str | None = None
    content_hash: str | None = None  # sha256 of the body
    title: str | None = None
    last_modified: str | None = None
    bytes: int = 0
    error: str | None = None
    elapsed_ms: int = 0

    def detail(self) -> dict[str, Any]:
        """The JSON kept in raw_ops.url_checks.detail."""
        return {
            "final_url": self.final_url,
            "redirects": self.redirects,
            "content_type": self.content_type,
            "content_hash": self.content_hash,
            "title": self.title,
            "last_modified": self.last_modified,
            "bytes": self.bytes,
            "error": self.error,
            "elapsed_ms": self.elapsed_ms,
            "requested_domain": registrable_domain(self.url),
            "final_domain": registrable_domain(self.final_url) if self.final_url else None,
        }


@dataclass(frozen=True)
class Target:
    url: str
    url_type: str = "website"
    company_id: int | None = None


class _Failed(Exception):
    def __init__(self, outcome: str, message: str, status: int | None = None):
        super().__init__(message)
        self.outcome = outcome
        self.status = status


# ---------------------------------------------------------------------------- transport
class HostsTransport(httpx.AsyncBaseTransport):
    """Sends requests for mapped hosts to ``(ip, port)`` instead of resolving them; the
    Host header keeps the name. ``https`` goes to the mapped port as plain HTTP unless the
    host is in ``tls_hosts`` (then TLS is attempted against it: a real handshake failure).
    Unmapped hosts raise ``httpx.ConnectError`` from ``socket.gaierror``, as DNS would."""

    def __init__(
        self,
        hosts: Mapping[str, tuple[str, int]],
        *,
        tls_hosts: Iterable[str] = (),
        default: tuple[str, int] | None = None,
        **transport_options: Any,
    ):
        self.hosts = {h.lower(): a for h, a in hosts.items()}
        self.tls_hosts = {h.lower() for h in tls_hosts}
        self.default = default
        self._inner = httpx.AsyncHTTPTransport(**transport_options)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = (request.url.host or "").lower()
        address = self.hosts.get(host, self.default)
        if address is None:
            raise httpx.ConnectError(
                f"[Errno -2] Name or service not known: {host}", request=request
            ) from socket.gaierror(-2, "Name or service not known")
        scheme = "https" if host in self.tls_hosts else "http"
        request.url = request.url.copy_with(scheme=scheme, host=address[0], port=address[1])
        request.headers["Host"] = host
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


# ---------------------------------------------------------------------------- errors
def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def classify(exc: BaseException) -> tuple[str, str]:
    """(outcome, message) for a transport failure."""
    chain = list(_chain(exc))
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if any(isinstance(e, socket.gaierror) for e in chain) or "Name or service not known" in str(
        exc
    ):
        return "dns_error", text
    if any(isinstance(e, ssl.SSLError) for e in chain) or "SSL" in str(exc):
        return "tls_error", text
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return "timeout", text
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "invalid_url", text
    return "connect_error", text


# ---------------------------------------------------------------------------- checker
class PageChecker:
    """One run's worth of checks: the client, the per-host locks and robots.txt cache."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = s.CONCURRENCY,
        connect_timeout_s: float = s.CONNECT_TIMEOUT_S,
        read_timeout_s: float = s.READ_TIMEOUT_S,
        request_deadline_s: float = s.REQUEST_DEADLINE_S,
        max_bytes: int = s.MAX_BYTES,
        max_redirects: int = s.MAX_REDIRECTS,
        user_agent: str = s.USER_AGENT,
    ):
        self.concurrency = concurrency
        self.deadline_s = request_deadline_s
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        timeout = httpx.Timeout(
            connect=connect_timeout_s, read=read_timeout_s, write=read_timeout_s, pool=None
        )
        self.client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": user_agent, "Accept": "text/html,*/*;q=0.5"},
            limits=httpx.Limits(max_connections=concurrency * 2, max_keepalive_connections=0),
        )
        self._host_locks: dict[str, asyncio.Lock] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | _Failed] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        await self.client.aclose()

    # one request, one host at a time, bounded in time and size
    async def _get(self, url: str) -> tuple[httpx.Response, bytes]:
        host = (urlsplit(url).hostname or "").lower()
        lock = self._host_locks.setdefault(host, asyncio.Lock())
        async with lock:
            try:
                async with asyncio.timeout(self.deadline_s):
                    async with self.client.stream("GET", url) as response:
                        if 300 <= response.status_code < 400:
                            body = await self._read(response, limit=65_536)
                        else:
                            body = await self._read(response, limit=self.max_bytes)
                        return response, body
            except TimeoutError:
                raise _Failed(
                    "timeout", f"no complete answer within the {self.deadline_s:g}s deadline"
                ) from None
            except _Failed:
                raise
            except httpx.HTTPError as exc:
                outcome, message = classify(exc)
                raise _Failed(outcome, message) from None

    async def _read(self, response: httpx.Response, *, limit: int) -> bytes:
        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise _Failed(
                "too_large",
                f"Content-Length {int(declared):,} over the {limit:,}-byte cap",
                response.status_code,
            )
        chunks, size = [], 0
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > limit:
                raise _Failed(
                    "too_large", f"body over the {limit:,}-byte cap", response.status_code
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def _robots_for(self, url: str) -> urllib.robotparser.RobotFileParser:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self._robots:
                self._robots[origin] = await self._fetch_robots(origin)
        robots = self._robots[origin]
        if isinstance(robots, _Failed):
            raise robots
        return robots

    async def _fetch_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | _Failed:
        """RFC 9309: 4xx = no rules; 5xx = the host is failing (the page's check fails with
        it); a transport failure likewise. Redirects of robots.txt are not followed."""
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            response, body = await self._get(origin + "/robots.txt")
        except _Failed as exc:
            return _Failed(exc.outcome, f"robots.txt: {exc}", exc.status)
        if response.status_code >= 500:
            return _Failed(
                "http_error",
                f"robots.txt answered HTTP {response.status_code}",
                response.status_code,
            )
        if response.status_code in (401, 403):
            parser.disallow_all = True
        elif 200 <= response.status_code < 300:
            parser.parse(body.decode("utf-8", "replace").splitlines())
        else:
            parser.allow_all = True
        return parser

    async def check(self, target: Target) -> PageCheck:
        started = time.monotonic()
        result = PageCheck(
            url=target.url, url_type=target.url_type, company_id=target.company_id, outcome=s.OK
        )
        start = target.url.strip()
        if "://" not in start:  # intake keeps bare domains ("acme.com"): https first
            start = f"https://{start}"
        try:
            await self._follow(start, result)
        except _Failed as exc:
            result.outcome, result.error = exc.outcome, str(exc)
            result.http_status = exc.status if exc.status is not None else result.http_status
        result.elapsed_ms = round((time.monotonic() - started) * 1000)
        return result

    async def _follow(self, url: str, result: PageCheck) -> None:
        seen = {url}
        current = url
        for _ in range(self.max_redirects + 1):
            if urlsplit(current).scheme not in ("http", "https"):
                raise _Failed("invalid_url", f"not an http(s) URL: {current}")
            robots = await self._robots_for(current)
            if not robots.can_fetch(self.user_agent, current):
                result.final_url = current
                raise _Failed(s.ROBOTS_DISALLOWED, f"robots.txt disallows {current}")
            result.final_url = current
            response, body = await self._get(current)
            result.http_status = response.status_code
            location = response.headers.get("location")
            if 300 <= response.status_code < 400 and location:
                nxt = urljoin(current, location)
                result.redirects.append(
                    {"status": response.status_code, "url": current, "location": nxt}
                )
                if nxt in seen:
                    result.final_url = nxt
                    raise _Failed(
                        "redirect_loop", f"redirect loop back to {nxt}", response.status_code
                    )
                seen.add(nxt)
                current = nxt
                continue
            self._record_answer(result, current, response, body)
            return
        result.final_url = current
        raise _Failed(
            "too_many_redirects", f"more than {self.max_redirects} redirects", result.http_status
        )

    @staticmethod
    def _record_answer(result: PageCheck, url: str, response: httpx.Response, body: bytes) -> None:
        result.final_url = url
        result.content_type = response.headers.get("content-type")
        result.last_modified = response.headers.get("last-modified")
        result.bytes = len(body)
        result.content_hash = hashlib.sha256(body).hexdigest()
        media = (result.content_type or "").split(";")[0].strip().lower()
        if response.status_code >= 400:
            raise _Failed("http_error", f"HTTP {response.status_code}", response.status_code)
        if media not in _HTML_TYPES:
            result.outcome = s.NOT_HTML
            result.error = f"not an HTML page ({media or 'no content type'})"
            return
        match = _TITLE.search(body[: s.TITLE_SCAN_BYTES])
        if match:
            title = html.unescape(match.group(1).decode(response.encoding or "utf-8", "replace"))
            result.title = " ".join(title.split())[:500] or None


async def _check_all(
    targets: list[Target], checker: PageChecker, on_result: Callable[[PageCheck], Any] | None
) -> list[PageCheck]:
    semaphore = asyncio.Semaphore(checker.concurrency)

    async def one(target: Target) -> PageCheck:
        async with semaphore:
            result = await checker.check(target)
        if on_result is not None:
            on_result(result)
        return result

    try:
        return list(await asyncio.gather(*(one(t) for t in targets)))
    finally:
        await checker.aclose()


def check_pages(
    targets: Iterable[Target],
    *,
    on_result: Callable[[PageCheck], Any] | None = None,
    **options: Any,
) -> list[PageCheck]:
    """Check every target (see the module doc); ``options`` are PageChecker's (transport,
    concurrency, timeouts, deadline, size cap, redirect limit). Results in target order."""
    targets = list(targets)

    async def run() -> list[PageCheck]:
        return await _check_all(targets, PageChecker(**options), on_result)

    return asyncio.run(run())
