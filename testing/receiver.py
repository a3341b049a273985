"""A local webhook receiver on 127.0.0.1 for tests, the demo and benchmarks.

It checks each POST's ``X-Outreach-Signature`` (exports/signing.py) against the shared
secret, the ``Idempotency-Key`` and the body, and its timestamp against the receiver's
clock (``clock``, default ``time.time``; ``tolerance_s``, default 300 s,
``OUTREACH_WEBHOOK_TOLERANCE_S`` for ``python -m testing.receiver``): 401 with the reason
when it does not verify, so a captured request replayed under another key or after the
tolerance is refused. It answers 200 for a new ``Idempotency-Key`` and 200 with
``{"duplicate": true}`` for one it has seen, and keeps everything it got in ``received``
(with the arrival time and the status it answered). ``fail_next(n, status)`` makes the
next n requests fail; ``reject(key, status)`` refuses one key every time (a poison row);
stop() and start() again (same port) is a receiver that was down. ``python -m
testing.receiver --port P`` runs one as its own process (a JSON line per request).

    with WebhookReceiver(secret="s3cret") as receiver:
        ... ALERT_WEBHOOK_URL=receiver.url ...
        receiver.wait_for(1, timeout=30)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from exports.signing import (
    DEFAULT_TOLERANCE_S,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    Clock,
    SignatureError,
    verify,
)


@dataclass
class Received:
    idempotency_key: str | None
    body: Any
    raw: bytes
    signature_ok: bool
    duplicate: bool
    received_at: float  # time.time()
    headers: dict[str, str]
    status: int = 200  # what the receiver answered
    rejected: str | None = None  # why the signature did not verify


class WebhookReceiver:
    def __init__(
        self,
        secret: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/hook",
        tolerance_s: float = DEFAULT_TOLERANCE_S,
        clock: Clock = time.time,
    ):
        self.secret = secret
        self.tolerance_s = tolerance_s
        self.clock = clock
        self.host = host
        self.port = port
        self.path = path
        self.received: list[Received] = []
        self._keys: set[str] = set()
        self._fail: list[int] = []
        self._reject: dict[str, int] = {}
        self._lock = threading.Condition()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def fail_next(self, n: int, status: int = 503) -> None:
        with self._lock:
            self._fail += [status] * n

    def reject(self, key: str, status: int = 422) -> None:
        """Answer ``status`` to every request with this idempotency key."""
        with self._lock:
            self._reject[key] = status

    def accepted(self) -> list[Received]:
        """Requests with a valid signature that were new (one per idempotency key)."""
        with self._lock:
            return [
                r for r in self.received if r.signature_ok and not r.duplicate and r.status == 200
            ]

    def wait_for(self, n: int, timeout: float = 30.0) -> bool:
        """Wait until ``n`` distinct keys have been accepted."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._keys) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict]:
        key = headers.get(IDEMPOTENCY_HEADER.lower())
        rejected = None
        try:
            verify(
                raw,
                key,
                headers.get(SIGNATURE_HEADER.lower()),
                self.secret,
                now=self.clock(),
                tolerance_s=self.tolerance_s,
            )
        except SignatureError as exc:
            rejected = str(exc)
        ok = rejected is None
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self._lock:
            if self._fail or key in self._reject:
                status = self._fail.pop(0) if self._fail else self._reject[key]
                self.received.append(
                    Received(key, body, raw, ok, False, time.time(), headers, status, rejected)
                )
                return status, {"error": "injected failure"}
            duplicate = ok and key in self._keys
            if urlsplit(path).path != self.path:
                status, answer = 404, {"error": "unknown path"}
            elif not ok:
                status, answer = 401, {"error": f"bad signature: {rejected}"}
            elif not key:
                status, answer = 400, {"error": "no idempotency key"}
            else:
                status, answer = 200, {"ok": True, "duplicate": duplicate}
                if not duplicate:
                    self._keys.add(key)
                    self._lock.notify_all()
            self.received.append(
                Received(key, body, raw, ok, duplicate, time.time(), headers, status, rejected)
            )
            return status, answer

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: without TCP_NODELAY, Nagle and the
            # client's delayed ACK hold each answer ~40 ms on a keep-alive connection
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = receiver._handle(self.path, headers, raw)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> WebhookReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Run a receiver: print its URL, then one JSON line per accepted request (``--print
    all``: per request, with the answer and the body; ``none``: nothing). The secret is
    OUTREACH_WEBHOOK_SECRET (never a command-line argument)."""
    from outreach.settings import load_settings

    p = argparse.ArgumentParser(description="local webhook receiver (127.0.0.1)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--print", dest="show", choices=["accepted", "all", "none"], default="accepted")
    args = p.parse_args(argv)
    settings = load_settings()
    secret = settings.webhook_secret
    if not secret:
        p.error("set OUTREACH_WEBHOOK_SECRET")
    try:
        tolerance = float(settings.webhook_tolerance_s or DEFAULT_TOLERANCE_S)
    except ValueError:
        p.error(f"OUTREACH_WEBHOOK_TOLERANCE_S={settings.webhook_tolerance_s!r} is not a number")
    receiver = WebhookReceiver(secret, port=args.port, tolerance_s=tolerance)
    print(receiver.start(), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    seen = 0

    def report() -> None:
        nonlocal seen
        if args.show == "none":
            return
        with receiver._lock:
            got = list(receiver.received)
        for r in got[seen:]:
            if args.show == "all":
                line = {
                    "key": r.idempotency_key,
                    "status": r.status,
                    "signature_ok": r.signature_ok,
                    "rejected": r.rejected,
                    "duplicate": r.duplicate,
                    "received_at": r.received_at,
                    "body": r.body,
                }
            elif r.signature_ok and not r.duplicate and r.status == 200:
                line = {"key": r.idempotency_key, "received_at": r.received_at}
            else:
                continue
            print(json.dumps(line), flush=True)
        seen = len(got)

    with contextlib.suppress(KeyboardInterrupt):
        while not stop.wait(0.05):
            report()
    receiver.stop()
    report()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
