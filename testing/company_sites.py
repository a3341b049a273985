"""Local company web sites for test mode, the tests and the benchmark (127.0.0.1 only).

One asyncio HTTP/1.1 server serves every company host; the ``Host`` header picks the
site, whose ``kind`` says how it answers:

| kind | answer |
| --- | --- |
| ``ok`` | 200 HTML with ``<title>``, ``Last-Modified`` |
| ``redirect`` | 301 to ``target`` (another host, often another registrable domain) |
| ``not_found`` | 404 HTML |
| ``server_error`` | 500 (robots.txt too: the host is failing) |
| ``loop`` | 302 to ``/a`` <-> ``/b`` forever |
| ``slow`` | 200 HTML after ``delay_s`` |
| ``hang`` | accepts, reads the request, never answers (until the server stops) |
| ``trickle`` | 200 headers, then one byte every ``delay_s`` forever |
| ``huge`` | 200 HTML streamed without Content-Length, ``size`` bytes |
| ``pdf`` | 200 ``application/pdf`` (non-HTML) |
| ``robots_block`` | robots.txt disallows everything |

Clients reach it without DNS through ``loaders.company_pages.checker.HostsTransport``
(``server.transport()`` maps every configured host to this server). Sites can be changed
between checks (``server.set_site(host, kind=...)``) to plant outages or moves.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from typing import Any

KINDS = (
    "ok",
    "redirect",
    "not_found",
    "server_error",
    "loop",
    "slow",
    "hang",
    "trickle",
    "huge",
    "pdf",
    "robots_block",
)
LAST_MODIFIED = "Wed, 01 Oct 2025 08:00:00 GMT"


@dataclass
class Site:
    kind: str = "ok"
    title: str | None = None
    target: str | None = None  # redirect target URL
    delay_s: float = 0.2
    size: int = 5_000_000

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown site kind {self.kind!r}; expected one of {KINDS}")


def _response(status: int, reason: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = [f"HTTP/1.1 {status} {reason}", "Connection: close", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _page(title: str, text: str = "") -> bytes:
    return (
        f"<!doctype html><html><head><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{text}</p></body></html>"
    ).encode()


class CompanySitesServer:
    """``start()`` -> base URL; ``sites`` maps host -> Site; ``stop()`` ends hanging answers."""

    def __init__(self, sites: dict[str, Site] | None = None, *, default: Site | None = None):
        self.sites: dict[str, Site] = {h.lower(): v for h, v in (sites or {}).items()}
        self.default = default  # unknown hosts: this site (None: 404)
        self.requests = 0
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()

    # configuration
    def set_site(self, host: str, **fields: Any) -> None:
        self.sites[host.lower()] = Site(**fields)

    def transport(self, **options: Any):
        from loaders.company_pages.checker import HostsTransport

        address = ("127.0.0.1", self.port)
        return HostsTransport(
            dict.fromkeys(self.sites, address),
            default=address if self.default is not None else None,
            **options,
        )

    # lifecycle
    def start(self) -> str:
        self._thread = threading.Thread(target=self._run, name="company-sites", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the company sites test server did not start")
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> CompanySitesServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=4096)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()

    # one connection, one request
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            first = await asyncio.wait_for(reader.readexactly(1), 10)
            if first == b"\x16":  # a TLS ClientHello to this plain-HTTP server
                writer.write(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                return await writer.drain()
            head = first + await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            lines = head.decode("latin-1").split("\r\n")
            _method, path, _version = lines[0].split(" ", 2)
            headers = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            host = headers.get("host", "").split(":")[0].lower()
            self.requests += 1
            site = self.sites.get(host, self.default)
            await self._answer(writer, site, host, path)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError, ValueError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _answer(
        self, writer: asyncio.StreamWriter, site: Site | None, host: str, path: str
    ) -> None:
        stopping = self._stopping
        if site is None:
            writer.write(_response(404, "Not Found", {"Content-Type": "text/plain"}, b"no site"))
            return await writer.drain()
        kind = site.kind
        if kind == "hang":
            return await stopping.wait()  # never answers, robots.txt included
        if kind == "server_error":
            writer.write(
                _response(
                    500, "Internal Server Error", {"Content-Type": "text/html"}, _page("Error")
                )
            )
            return await writer.drain()
        if path == "/robots.txt":
            rules = b"User-agent: *\nDisallow: /\n" if kind == "robots_block" else b""
            if rules:
                writer.write(_response(200, "OK", {"Content-Type": "text/plain"}, rules))
            else:
                writer.write(_response(404, "Not Found", {"Content-Type": "text/plain"}, b""))
            return await writer.drain()
        title = site.title or host
        html = {"Content-Type": "text/html; charset=utf-8", "Last-Modified": LAST_MODIFIED}
        if kind in ("ok", "robots_block"):
            writer.write(_response(200, "OK", html, _page(title, f"Welcome to {host}")))
        elif kind == "slow":
            await asyncio.sleep(site.delay_s)
            writer.write(_response(200, "OK", html, _page(title)))
        elif kind == "redirect":
            writer.write(_response(301, "Moved Permanently", {"Location": site.target or "/"}))
        elif kind == "not_found":
            writer.write(_response(404, "Not Found", html, _page("Not found")))
        elif kind == "loop":
            nxt = "/b" if path == "/a" else "/a"
            writer.write(_response(302, "Found", {"Location": nxt}))
        elif kind == "pdf":
            writer.write(
                _response(
                    200, "OK", {"Content-Type": "application/pdf"}, b"%PDF-1.4\n" + b"0" * 2000
                )
            )
        elif kind == "trickle":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n")
            while not stopping.is_set():
                writer.write(b"<")
                await writer.drain()
                await asyncio.sleep(site.delay_s)
        elif kind == "huge":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n")
            chunk, sent = b"<p>" + b"x" * 65_532 + b"</p>", 0
            while sent < site.size and not stopping.is_set():
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
        await writer.drain()
        return None


def _main() -> None:
    """``python -m testing.company_sites --hosts 10000 --hang-share 0.05``: serve hosts
    ``site-00000.com`` ... (every 1/hang-share-th one hangs) in this process; prints the
    port, then serves until killed (the benchmark runs it apart from its client)."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=_main.__doc__)
    parser.add_argument("--hosts", type=int, default=10_000, help="number of site hosts")
    parser.add_argument("--hang-share", type=float, default=0.05, help="share that hangs")
    args = parser.parse_args()
    every = round(1 / args.hang_share) if args.hang_share > 0 else 0
    sites = {
        f"site-{i:05d}.com": Site(kind="hang" if every and i % every == 0 else "ok")
        for i in range(args.hosts)
    }
    server = CompanySitesServer(sites)
    server.start()
    print(server.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    _main()
