"""``outreach serve``: the webhook receiver (an ASGI app, run on uvicorn).

- ``POST /webhooks/sendgrid``: the SendGrid Event Webhook (a JSON array of events), signed
  with ECDSA (``signatures.verify_sendgrid``, key ``SENDGRID_WEBHOOK_PUBLIC_KEY``);
- ``POST /webhooks/calendly``: Calendly v2 ``invitee.created`` / ``invitee.canceled``,
  signed with HMAC (``signatures.verify_calendly``, key ``CALENDLY_WEBHOOK_SIGNING_KEY``);
- ``GET /healthz``.

A request that does not verify (no or bad signature, stale timestamp) gets 401 and nothing
is stored; a body that is not what the provider sends gets 400. Otherwise the events are
inserted (duplicates skipped) and committed before the 200 goes out: an acknowledged event
is on disk (PostgreSQL's commit), so killing the receiver loses only unacknowledged
requests, which the provider retries. A database failure answers 503 (retried too).
Each worker thread keeps one connection.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from loaders.email_events import bookings, signatures, store
from loaders.email_events.events import EventFormatError, parse_json, sendgrid_events

MAX_BODY = 16 * 1024 * 1024  # SendGrid batches are far smaller; refuse anything absurd


class _Connections(threading.local):
    conn: psycopg.Connection | None = None


class Receiver:
    def __init__(
        self,
        database_url: str,
        *,
        sendgrid_public_key: str | None = None,
        calendly_signing_key: str | None = None,
        clock: Callable[[], float] = time.time,
        tolerance_s: float = signatures.DEFAULT_TOLERANCE_S,
    ):
        self.database_url = database_url
        self.sendgrid_key = (
            signatures.load_sendgrid_key(sendgrid_public_key) if sendgrid_public_key else None
        )
        self.calendly_key = calendly_signing_key
        self.clock = clock
        self.tolerance_s = tolerance_s
        self._local = _Connections()
        store.ensure_raw_tables(database_url)
        bookings.ensure_raw_tables(database_url)

    # -------------------------------------------------------------- database (worker threads)
    def _write(self, write: Callable[[psycopg.Connection], Any]) -> Any:
        conn = self._local.conn
        if conn is None or conn.closed:
            conn = self._local.conn = psycopg.connect(self.database_url)
        try:
            with conn.transaction():
                return write(conn)
        except psycopg.OperationalError:
            conn.close()
            raise

    # -------------------------------------------------------------- handlers
    async def _receive(
        self,
        request: Request,
        what: str,
        configured: bool,
        verify: Callable[[bytes], object],
        store_body: Callable[[bytes], Callable[[psycopg.Connection], dict]],
    ) -> JSONResponse:
        """Verify (401, nothing stored), parse (400), commit (503 on failure), then 200.
        Only reading the body happens on the event loop; verifying, parsing and storing run
        in one worker thread, so the loop keeps taking requests meanwhile."""
        if not configured:
            return _error(503, f"no {what} verification key is set: cannot verify")
        body = await _body(request)
        if body is None:
            return _error(413, "body too large")
        return await run_in_threadpool(self._handle, what, body, verify, store_body)

    def _handle(
        self,
        what: str,
        body: bytes,
        verify: Callable[[bytes], object],
        store_body: Callable[[bytes], Callable[[psycopg.Connection], dict]],
    ) -> JSONResponse:
        try:
            verify(body)
        except signatures.SignatureError as exc:
            return _error(401, str(exc))
        try:
            write = store_body(body)
        except (json.JSONDecodeError, UnicodeDecodeError, EventFormatError) as exc:
            return _error(400, f"not a {what} webhook: {exc}")
        try:
            return JSONResponse(self._write(write))
        except psycopg.Error as exc:
            return _error(503, f"not stored ({type(exc).__name__}): retry")

    async def sendgrid(self, request: Request) -> JSONResponse:
        def verify(body: bytes) -> None:
            signatures.verify_sendgrid(
                self.sendgrid_key,
                body,
                request.headers.get(signatures.SENDGRID_SIGNATURE),
                request.headers.get(signatures.SENDGRID_TIMESTAMP),
                now=self.clock(),
                tolerance_s=self.tolerance_s,
            )

        def parse(body: bytes):
            events = sendgrid_events(parse_json(body))
            batch_id = uuid.uuid4().hex

            def write(conn: psycopg.Connection) -> dict:
                stored = store.store_events(conn, events, batch_id)
                return {
                    "received": stored.received,
                    "new": stored.new,
                    "duplicates": stored.duplicates,
                }

            return write

        return await self._receive(
            request, "SendGrid", self.sendgrid_key is not None, verify, parse
        )

    async def calendly(self, request: Request) -> JSONResponse:
        def verify(body: bytes) -> None:
            signatures.verify_calendly(
                self.calendly_key or "",
                body,
                request.headers.get(signatures.CALENDLY_SIGNATURE),
                now=self.clock(),
                tolerance_s=min(self.tolerance_s, 180.0),
            )

        def parse(body: bytes):
            booking = bookings.calendly_booking(json.loads(body))
            return lambda conn: {"received": 1, "new": bookings.store_bookings(conn, [booking])}

        return await self._receive(request, "Calendly", bool(self.calendly_key), verify, parse)

    async def healthz(self, _request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/webhooks/sendgrid", self.sendgrid, methods=["POST"]),
                Route("/webhooks/calendly", self.calendly, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
            ]
        )


async def _body(request: Request) -> bytes | None:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        return None
    body = await request.body()
    return None if len(body) > MAX_BODY else body


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def serve(receiver: Receiver, host: str, port: int, log_level: str = "info") -> None:
    """Run the receiver on uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(receiver.app(), host=host, port=port, log_level=log_level, access_log=False)
