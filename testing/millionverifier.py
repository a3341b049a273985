"""A local stand-in for the MillionVerifier API, following its published behaviour.

What it follows (fixtures in ``tests/fixtures/millionverifier/`` quote the same sources):

- single check ``GET /api/v3/?api=KEY&email=...&timeout=2..60``: HTTP 200 with ``email``,
  ``quality`` (good/risky/bad), ``result`` (ok, catch_all, unknown, error, disposable,
  invalid), ``resultcode`` 1..6 in that order, ``subresult``, ``free``, ``role``,
  ``didyoumean``, ``credits`` (left), ``executiontime``, ``error``, ``livemode``
  (developer.millionverifier.com; the field list peers' typed clients declare);
- errors are HTTP 200 answers with ``result: "error"``, ``resultcode: 4`` and an ``error``
  text: a wrong key gives ``"Apikey not found"`` with ``credits: 0`` (a live probe
  published in pipeworx-io/mcp-millionverifier's README); an empty account gives
  ``"Insufficient credits"`` (DESIGN.md's vendor facts; matched by the loader on
  "credit", not on the exact text);
- ``GET /api/v3/credits?api=KEY``: ``credits``, ``bulk_credits``, ``renewing_credits``,
  ``plan``;
- bulk API v2: ``POST /bulkapi/v2/upload?key=`` (multipart ``file_contents``) answers the
  file info (``file_id`` as a string, ``status``, ``percent``, counts... as in the upload
  log published in centminmod/validate-emails' README), ``GET /bulkapi/v2/fileinfo``,
  ``GET /bulkapi/v2/download?filter=all`` (CSV).

Results are deterministic by address: a local part starting with ``ok``, ``catch_all``,
``unknown``, ``invalid``, ``disposable`` or ``error`` (then ``.``, ``-``, ``_``, ``+``, a
digit or ``@``) names the result; ``slow.<rest>`` answers after ``slow_s``,
``timeout.<rest>`` after ``timeout_s`` (beyond a test client's timeout); throwaway domains
are disposable; other addresses get a stable hash-based result (~70 % ok).

What the docs allow that a client must survive, switchable at any time (``configure(...)``
or ``POST /_test/config``): bursts of 5xx (``error_count``, ``error_status``), 429s
(``rate_limit_count`` or every ``rate_limit_every``-th request) with an optional
``Retry-After`` in whole seconds (``retry_after_s``), non-JSON bodies
(``garbage_count``: an HTML page with HTTP 200, as a proxy in front of the API sends),
``latency_s`` on every check, credits that run out; each only on ``fault_endpoints``.

    with MillionVerifierTestServer(credits=100) as server:     # 127.0.0.1, free port
        server.configure(error_count=3, garbage_count=1)

    python -m testing.millionverifier --port 8766 [--credits N] [--latency S]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import re
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

RESULT_CODES = {"ok": 1, "catch_all": 2, "unknown": 3, "error": 4, "disposable": 5, "invalid": 6}
SUBRESULTS = {
    "ok": "ok",
    "catch_all": "catch_all",
    "unknown": "timeout",
    "error": "dns_error",
    "disposable": "disposable",
    "invalid": "mailbox_not_found",
}
# hash-picked results for addresses that do not name one: (upper bound, result)
DISTRIBUTION = (
    (0.70, "ok"),
    (0.82, "catch_all"),
    (0.90, "invalid"),
    (0.96, "unknown"),
    (0.98, "disposable"),
    (1.00, "error"),
)
DISPOSABLE_DOMAINS = frozenset(
    {"mailinator.com", "guerrillamail.com", "10minutemail.com", "yopmail.com", "trashmail.com"}
)
FREE_DOMAINS = frozenset({"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "gmx.net"})
ROLE_LOCALS = frozenset({"info", "sales", "admin", "support", "hr", "contact", "office", "team"})
_NAMED = re.compile(
    r"^(ok|catch_all|catchall|catch-all|unknown|invalid|disposable|error)(?=[.\-_+0-9]|$)"
)
_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
ENDPOINTS = ("verify", "credits", "upload", "fileinfo", "download")
TEST_MODE_API_KEY = "mv_test_mode_key"  # the loader's key in test mode (settings.py)
BAD_KEY = "Apikey not found"  # HTTP 200 error text for a wrong key (published live probe)
NO_CREDITS = "Insufficient credits"
GARBAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def _rand(*parts: Any) -> float:
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def classify(email: str) -> tuple[str, float]:
    """(result, extra delay kind) for an address: ``("ok", 0)``; the delay kind is 1 for
    ``slow.`` and 2 for ``timeout.`` addresses."""
    address = email.strip().lower()
    local, _, domain = address.partition("@")
    delay = 0.0
    for prefix, kind in (("slow.", 1.0), ("timeout.", 2.0)):
        if local.startswith(prefix):
            local, delay = local[len(prefix) :], kind
            break
    named = _NAMED.match(local)
    if named:
        word = named.group(1)
        return ("catch_all" if word.startswith("catch") else word), delay
    if not _SHAPE.match(address):
        return "invalid", delay
    if domain in DISPOSABLE_DOMAINS:
        return "disposable", delay
    x = _rand("mv", address)
    for bound, result in DISTRIBUTION:
        if x < bound:
            return result, delay
    return "ok", delay


def bad_key_answer(email: str) -> dict[str, Any]:
    """The documented HTTP 200 answer to a wrong key (a published live probe)."""
    return {
        "email": email,
        "result": "error",
        "resultcode": 4,
        "subresult": "",
        "free": False,
        "role": False,
        "didyoumean": "",
        "credits": 0,
        "executiontime": 0,
        "error": BAD_KEY,
        "livemode": True,
    }


def answer_for(email: str, credits: int | None) -> dict[str, Any]:
    """The API's JSON answer for an address (a successful check)."""
    result, _ = classify(email)
    address = email.strip().lower()
    local, _, domain = address.partition("@")
    role = local in ROLE_LOCALS
    quality = {
        "ok": "risky" if role else "good",
        "catch_all": "risky",
        "unknown": "risky",
        "invalid": "bad",
        "disposable": "bad",
        "error": "",
    }[result]
    return {
        "email": email,
        "quality": quality,
        "result": result,
        "resultcode": RESULT_CODES[result],
        "subresult": SUBRESULTS[result],
        "free": domain in FREE_DOMAINS,
        "role": role,
        "didyoumean": "",
        "credits": credits if credits is not None else 999999,
        "executiontime": round(0.2 + _rand("t", address), 2),
        "error": "the domain does not resolve" if result == "error" else "",
        "livemode": True,
    }


@dataclass
class Config:
    """Switchable behaviour; every field can be set with ``configure`` or /_test/config."""

    api_key: str = TEST_MODE_API_KEY
    credits: int | None = None  # None: unlimited
    latency_s: float = 0.0  # every verify request waits this long
    slow_s: float = 0.3  # slow.<address>
    timeout_s: float = 5.0  # timeout.<address>
    rate_limit_count: int = 0  # the next N requests: 429
    rate_limit_every: int = 0  # every N-th request: 429 (0: never)
    retry_after_s: int | None = None  # Retry-After (whole seconds) on 429s
    error_count: int = 0  # the next N requests: error_status
    error_status: int = 503
    garbage_count: int = 0  # the next N requests: HTTP 200 with an HTML body
    fault_endpoints: tuple[str, ...] = ENDPOINTS
    bulk_polls: int = 2  # fileinfo answers "in_progress" this many times, then bulk_status
    bulk_status: str = "finished"  # or "error" / "canceled"
    bulk_drop: tuple[str, ...] = ()  # addresses left out of bulk results


@dataclass
class BulkFile:
    file_id: int
    name: str
    emails: list[str]
    polls: int = 0
    created: float = field(default_factory=time.time)


class MillionVerifierTestServer:
    """The server; ``start()`` returns its base URL, ``stop()`` ends it."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        self.config = Config()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # notified when in_flight drops to 0
        self.requests: list[dict[str, Any]] = []  # every API request: endpoint, email, status
        self.files: dict[int, BulkFile] = {}
        self._next_file = 1000
        self._count = 0
        self.in_flight = 0  # verify requests being answered now
        self.max_in_flight = 0  # the most at once since start (or reset_counters)
        self.host, self.port = host, port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.configure(**config)

    # lifecycle -----------------------------------------------------------------------
    def start(self) -> str:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() returns within 50 ms
            name="millionverifier-testserver",
            daemon=True,
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> MillionVerifierTestServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def configure(self, **changes: Any) -> None:
        names = {f.name for f in dataclasses.fields(Config)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown test server settings: {sorted(unknown)}")
        with self._lock:
            for name, value in changes.items():
                if name in {"fault_endpoints", "bulk_drop"} and value is not None:
                    value = tuple(value)
                setattr(self.config, name, value)

    def state(self) -> dict[str, Any]:
        with self._lock:
            config = dataclasses.asdict(self.config)
            config.pop("api_key")
            return {
                "config": config,
                "requests": len(self.requests),
                "by_endpoint": _count(r["endpoint"] for r in self.requests),
                "by_status": _count(str(r["status"]) for r in self.requests),
                "files": len(self.files),
                "max_in_flight": self.max_in_flight,
            }

    def reset_counters(self, *, wait_s: float = 30.0) -> None:
        """Forget the requests so far. Answers still being given (a client that timed
        out leaves its request sleeping here) are waited for first, up to ``wait_s``,
        so they are not logged after the reset as if a later run had sent them."""
        with self._lock:
            if not self._idle.wait_for(lambda: self.in_flight == 0, timeout=wait_s):
                raise TimeoutError(f"{self.in_flight} verify answers still in flight")
            self.requests.clear()
            self.max_in_flight = self.in_flight

    def requests_for(self, endpoint: str) -> list[dict[str, Any]]:
        with self._lock:
            return [r for r in self.requests if r["endpoint"] == endpoint]

    # request handling (called from handler threads) ----------------------------------
    def _fault(self, endpoint: str) -> tuple[int, dict[str, str]] | None:
        """A fault to answer with instead of the real answer, if one is due."""
        with self._lock:
            c = self.config
            self._count += 1
            if endpoint not in c.fault_endpoints:
                return None
            headers = {}
            if c.retry_after_s is not None:
                headers["Retry-After"] = str(int(c.retry_after_s))
            if c.rate_limit_count > 0:
                c.rate_limit_count -= 1
                return 429, headers
            if c.rate_limit_every and self._count % c.rate_limit_every == 0:
                return 429, headers
            if c.error_count > 0:
                c.error_count -= 1
                return c.error_status, {}
            if c.garbage_count > 0:
                c.garbage_count -= 1
                return 200, {}
        return None

    def _log(self, endpoint: str, email: str | None, status: int, result: str | None) -> None:
        with self._lock:
            self.requests.append(
                {"endpoint": endpoint, "email": email, "status": status, "result": result}
            )

    def _spend(self, n: int) -> tuple[bool, int | None]:
        """Take n credits; (enough, credits left)."""
        with self._lock:
            if self.config.credits is None:
                return True, None
            if self.config.credits < n:
                return False, self.config.credits
            self.config.credits -= n
            return True, self.config.credits

    def verify(self, email: str) -> dict[str, Any]:
        """Answer one verify request and log it, both inside the in-flight window."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            answer = self._verify(email)
            self._log("verify", email, 200, answer["result"])
            return answer
        finally:
            with self._lock:
                self.in_flight -= 1
                if self.in_flight == 0:
                    self._idle.notify_all()

    def _verify(self, email: str) -> dict[str, Any]:
        _, delay_kind = classify(email)
        c = self.config
        wait = (
            c.latency_s
            + (c.slow_s if delay_kind == 1 else 0)
            + (c.timeout_s if delay_kind == 2 else 0)
        )
        if wait:
            time.sleep(wait)
        enough, left = self._spend(1)
        if not enough:
            return {
                "email": email,
                "quality": "",
                "result": "error",
                "resultcode": 4,
                "subresult": "",
                "free": False,
                "role": False,
                "didyoumean": "",
                "credits": 0,
                "executiontime": 0,
                "error": NO_CREDITS,
                "livemode": True,
            }
        return answer_for(email, left)

    def upload(self, name: str, content: bytes) -> dict[str, Any]:
        reader = csv.reader(io.StringIO(content.decode("utf-8-sig", errors="replace")))
        emails = [row[0].strip() for row in reader if row and row[0].strip()]
        if emails and emails[0].lower() == "email":
            emails = emails[1:]
        enough, _ = self._spend(len(emails))
        if not enough:
            return {"error": NO_CREDITS}
        with self._lock:
            self._next_file += 1
            f = BulkFile(self._next_file, name, emails)
            self.files[f.file_id] = f
        return self._file_info(f, "unknown", 0)  # as the published upload log shows

    def fileinfo(self, file_id: int) -> dict[str, Any]:
        with self._lock:
            f = self.files.get(file_id)
            if f is None:
                return {"error": "File not found"}
            f.polls += 1
            done = f.polls > self.config.bulk_polls
            status = self.config.bulk_status if done else "in_progress"
            percent = 100 if done else int(100 * f.polls / (self.config.bulk_polls + 1))
        return self._file_info(f, status, percent)

    def _file_info(self, f: BulkFile, status: str, percent: int) -> dict[str, Any]:
        counts = _count(classify(e)[0] for e in f.emails) if status == "finished" else {}
        return {
            "file_id": str(f.file_id),
            "file_name": f.name,
            "status": status,
            "unique_emails": len(set(f.emails)),
            "updated_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "createdate": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(f.created)),
            "percent": percent,
            "total_rows": len(f.emails),
            "verified": len(f.emails) if status == "finished" else 0,
            "unverified": 0 if status == "finished" else len(f.emails),
            **{
                k: counts.get(k, 0) for k in ("ok", "catch_all", "disposable", "invalid", "unknown")
            },
            "reverify": 0,
            "credit": len(f.emails),
            "estimated_time_sec": 0,
            "error": "" if status in {"finished", "in_progress", "unknown"} else f"file {status}",
        }

    def download(self, file_id: int) -> str | None:
        with self._lock:
            f = self.files.get(file_id)
            drop = set(self.config.bulk_drop)
            done = f is not None and f.polls > self.config.bulk_polls
        if f is None or not done:
            return None
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["email", "quality", "result", "subresult", "free", "role", "didyoumean"])
        for email in f.emails:
            if email in drop:
                continue
            a = answer_for(email, None)
            writer.writerow(
                [
                    email,
                    a["quality"],
                    a["result"],
                    a["subresult"],
                    "yes" if a["free"] else "no",
                    "yes" if a["role"] else "no",
                    "",
                ]
            )
        return out.getvalue()


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


class _Handler(BaseHTTPRequestHandler):
    owner: MillionVerifierTestServer
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    wbufsize = 64 * 1024  # headers and body leave in one write (flushed per request)

    def setup(self) -> None:
        super().setup()
        # no Nagle delay between small answers on a kept-alive connection
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet (and URLs carry the key)
        return

    # helpers ---------------------------------------------------------------------------
    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        if isinstance(body, str):
            html = body.startswith("<html>")
            data, ctype = body.encode(), f"text/{'html' if html else 'csv'}; charset=utf-8"
        else:
            data, ctype = json.dumps(body).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _fault_or_none(self, endpoint: str, email: str | None = None) -> bool:
        fault = self.owner._fault(endpoint)
        if fault is None:
            return False
        status, headers = fault
        body: Any = {"error": "Too many requests"} if status == 429 else GARBAGE
        self.owner._log(endpoint, email, status, None)
        self._send(status, body, headers)
        return True

    def _key_ok(self, query: dict[str, list[str]], name: str) -> bool:
        return (query.get(name) or [""])[0] == self.owner.config.api_key

    # routes --------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path.rstrip("/")
        if path == "/_test/state":
            self._send(200, self.owner.state())
        elif path == "/api/v3":
            email = (query.get("email") or [""])[0]
            if self._fault_or_none("verify", email):
                return
            if not self._key_ok(query, "api"):
                self.owner._log("verify", email, 200, "bad_key")
                self._send(200, bad_key_answer(email))
                return
            self._send(200, self.owner.verify(email))
        elif path == "/api/v3/credits":
            if self._fault_or_none("credits"):
                return
            if not self._key_ok(query, "api"):
                self._send(200, {"error": BAD_KEY})
                return
            credits = self.owner.config.credits
            credits = 999999 if credits is None else credits
            self.owner._log("credits", None, 200, None)
            self._send(
                200,
                {"credits": credits, "bulk_credits": credits, "renewing_credits": 0, "plan": 0},
            )
        elif path in ("/bulkapi/v2/fileinfo", "/bulkapi/v2/download"):
            endpoint = path.rsplit("/", 1)[-1]
            if self._fault_or_none(endpoint):
                return
            if not self._key_ok(query, "key"):
                self._send(200, {"error": BAD_KEY})
                return
            try:
                file_id = int((query.get("file_id") or ["0"])[0])
            except ValueError:
                file_id = 0
            if endpoint == "fileinfo":
                info = self.owner.fileinfo(file_id)
                self.owner._log("fileinfo", None, 200, info.get("status"))
                self._send(200, info)
            else:
                report = self.owner.download(file_id)
                self.owner._log("download", None, 200, None)
                if report is None:
                    self._send(200, {"error": "File not found or not finished"})
                else:
                    self._send(200, report)
        else:
            self._send(404, {"error": f"no route {parts.path}"})

    def do_POST(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        path = parts.path.rstrip("/")
        body = self._body()
        if path == "/_test/config":
            try:
                self.owner.configure(**json.loads(body or b"{}"))
            except (ValueError, TypeError) as exc:
                self._send(400, {"error": str(exc)})
                return
            self._send(200, self.owner.state())
        elif path == "/bulkapi/v2/upload":
            if self._fault_or_none("upload"):
                return
            if not self._key_ok(query, "key"):
                self._send(200, {"error": BAD_KEY})
                return
            name, content = _multipart_file(self.headers.get("Content-Type", ""), body)
            if content is None:
                self._send(200, {"error": "No file_contents in the upload"})
                return
            info = self.owner.upload(name or "upload.csv", content)
            self.owner._log("upload", None, 200, info.get("status"))
            self._send(200, info)
        else:
            self._send(404, {"error": f"no route {parts.path}"})


def _multipart_file(content_type: str, body: bytes) -> tuple[str | None, bytes | None]:
    """(filename, bytes) of the ``file_contents`` part of a multipart/form-data body."""
    if "multipart/form-data" not in content_type:
        return None, None
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file_contents":
            return part.get_filename(), part.get_payload(decode=True)
    return None, None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="MillionVerifier test-mode server (127.0.0.1)")
    p.add_argument("--port", type=int, default=8766)
    p.add_argument("--credits", type=int, default=None, help="credits (default unlimited)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds per verify request")
    args = p.parse_args(argv)
    server = MillionVerifierTestServer(port=args.port, credits=args.credits, latency_s=args.latency)
    print(f"MillionVerifier test server on {server.start()} (key {TEST_MODE_API_KEY})", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
