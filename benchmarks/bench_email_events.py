"""Benchmark: the webhook receiver's ingest rate against a bare COPY of the same events,
its memory, and the event -> mart latency.

    .venv/bin/python benchmarks/bench_email_events.py [--events 100000] [--batch-kb 768]
        [--batch N] [--senders 2] [--keep]

1. a fresh database on the warehouse server (embedded unless OUTREACH_DATABASE_URL);
2. ``events`` SendGrid-shaped events (the test-mode simulator's shapes), generated in
   POST bodies as SendGrid batches them: "every 30 seconds or when the batch size reaches
   768 kilobytes" (Twilio SendGrid, Getting started with the Event Webhook), so in a burst
   each body is up to ``batch-kb`` (~3,000 of these events); ``--batch N`` also caps the
   events per body (``--batch 1000`` is this benchmark's first shape). Memory stays flat;
3. ``copy``: ``COPY`` of the same rows (key, provider, type, email, time, message id,
   payload) into a bare table with the same columns, no key, no index - the floor. The
   rows are formatted first (COPY text, spooled to a file: memory stays flat), then the
   whole COPY is timed, server included, up to its commit. (Timing only psycopg's
   ``write_row`` calls, as this benchmark first did, left out most of the server's work:
   it ran on while the next batch was generated, untimed.) The machine is shared, so the
   COPY runs before and after the receiver and the ratio is taken against their mean;
4. ``receiver``: ``outreach serve`` as its own process (uvicorn), ``senders`` concurrent
   clients posting the batches; every event verified, parsed, inserted (dedupe on the
   key) and committed before the 200. The bodies are serialised first (spooled to a file)
   and each is signed as it is sent, so the senders cost little, but they still run on
   the same cores: the rate is a lower bound. The receiver's RSS is sampled during the
   run (flat memory: the last sample against the first after warm-up), and the CPU time
   per event of the receiver, of its database server processes, of the senders and of
   the COPY's server process;
5. ``latency``: one more signed event, the time until it is visible in
   ``marketing.engagement_events`` (a view over the raw table: no build on the path), and
   on the Dagster path the time until the ``email_events_arrivals`` sensor, evaluated
   right after, records the materialization of ``raw_events/email_events`` (the daemon
   evaluates it every 30 s at most, so in production add up to that interval).

Prints one JSON document: events/s of both, the ratio receiver/copy (goal >= 0.25 at 1M
events), CPU per event, RSS samples, latencies, and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_events(start: int, n: int, now: int) -> list[dict]:
    """Events start .. start + n - 1 (generated per batch: memory stays flat at 1M)."""
    kinds = ["processed", "delivered", "open", "click", "deferred"]
    return [
        {
            "email": f"bench{i % 50_000}@example.com",
            "timestamp": now - (i % 3600),
            "event": kinds[i % len(kinds)],
            "sg_event_id": uuid.UUID(int=i + 1).hex,
            "sg_message_id": f"msg{i // 5}.filter0001",
            "category": ["bench"],
            "campaign_id": "1",
            "useragent": "Mozilla/5.0",
        }
        for i in range(start, start + n)
    ]


def batches(total: int, size: int | None, now: int, max_bytes: int | None = None):
    """Lists of events of at most ``size`` events and ``max_bytes`` serialised."""
    pending: list[dict] = []
    length = 2  # "[]"
    for start in range(0, total, 1000):
        for event in make_events(start, min(1000, total - start), now):
            n = len(json.dumps(event)) + 2  # ", " between events
            full = size is not None and len(pending) >= size
            if pending and (full or (max_bytes is not None and length + n > max_bytes)):
                yield pending
                pending, length = [], 2
            pending.append(event)
            length += n
    if pending:
        yield pending


SERVER_CPU_S: dict[str, float] = {}  # CPU seconds of the COPY's server process, by table


def _copy_text(value) -> str:
    """One field in COPY's text format."""
    if value is None:
        return "\\N"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def bare_copy(
    url: str, total: int, size: int | None, now: int, max_bytes: int, table: str = "bench_copy"
) -> float:
    """COPY of the same rows into a bare table (no key, no index): the floor. The rows
    are formatted first (spooled to a file), then the COPY is timed to its commit."""
    import psycopg

    from loaders.email_events.events import dumps, sendgrid_events

    with tempfile.TemporaryFile() as spool, psycopg.connect(url) as conn:
        for batch in batches(total, size, now, max_bytes):
            for e in sendgrid_events(batch):
                fields = (
                    e.event_key,
                    e.provider,
                    e.event_type,
                    e.email,
                    e.occurred_at,
                    e.message_id,
                    dumps(e.payload),
                )
                spool.write(("\t".join(map(_copy_text, fields)) + "\n").encode())
        spool.seek(0)
        conn.execute(
            f"create table {table} (event_key text, provider text, event_type text,"
            " email text, occurred_at timestamptz, message_id text, payload jsonb)"
        )
        conn.commit()
        (backend,) = conn.execute("select pg_backend_pid()").fetchone()
        cpu_before = _cpu_s(backend)
        started = time.perf_counter()
        with conn.cursor().copy(
            f"copy {table} (event_key, provider, event_type, email, occurred_at, message_id,"
            " payload) from stdin"
        ) as copy:
            while chunk := spool.read(1 << 20):
                copy.write(chunk)
        conn.commit()
        spent = time.perf_counter() - started
        SERVER_CPU_S[table] = _cpu_s(backend) - cpu_before
        (copied,) = conn.execute(f"select count(*) from {table}").fetchone()
    assert copied == total, copied
    return spent


def spool_bodies(spool, total: int, size: int | None, now: int, max_bytes: int):
    """The batches as JSON bodies, serialised first into a file (flat memory); returns a
    generator reading them back one by one, and how many there are."""
    posts = 0
    for batch in batches(total, size, now, max_bytes):
        body = json.dumps(batch).encode()
        spool.write(len(body).to_bytes(8, "big") + body)
        posts += 1
    spool.seek(0)

    def read():
        while head := spool.read(8):
            yield spool.read(int.from_bytes(head, "big"))

    return read(), posts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--batch-kb", type=int, default=768, help="largest POST body, KiB")
    p.add_argument("--batch", type=int, default=None, help="most events per POST")
    p.add_argument("--senders", type=int, default=2)
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = p.parse_args(argv)

    import httpx
    import psycopg
    from cryptography.hazmat.primitives.asymmetric import ec

    from loaders.email_events import signatures
    from outreach.warehouse import database_url

    server = database_url()
    name = f"bench_events_{uuid.uuid4().hex[:8]}"
    admin = urlsplit(server)._replace(path="/postgres").geturl()
    url = urlsplit(server)._replace(path=f"/{name}").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    key = ec.generate_private_key(ec.SECP256R1())
    now = int(time.time())
    max_bytes = args.batch_kb * 1024
    out: dict = {
        "events": args.events,
        "batch_kb": args.batch_kb,
        "batch": args.batch,
        "senders": args.senders,
    }
    proc = None
    with tempfile.TemporaryFile() as spool:  # the serialised bodies
        try:
            copy_s = copy_before_s = bare_copy(url, args.events, args.batch, now, max_bytes)
            bodies, posts = spool_bodies(spool, args.events, args.batch, now, max_bytes)
            port = _free_port()
            proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                cwd=str(ROOT),
                env={
                    **os.environ,
                    "OUTREACH_DATABASE_URL": url,
                    "SENDGRID_WEBHOOK_PUBLIC_KEY": signatures.public_key_b64(key),
                },
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=60) as client:
                for _ in range(500):
                    try:
                        client.get("/healthz")
                        break
                    except httpx.TransportError:
                        time.sleep(0.02)
            rss: list[int] = []
            queue = enumerate(bodies)
            lock = threading.Lock()
            failures = []

            def sender() -> None:
                with httpx.Client(base_url=base, timeout=60) as client:
                    while True:
                        with lock:
                            item = next(queue, None)
                        if item is None:
                            return
                        i, body = item
                        ts = int(time.time())
                        answer = client.post(
                            "/webhooks/sendgrid",
                            content=body,
                            headers={
                                signatures.SENDGRID_SIGNATURE: signatures.sign_sendgrid(
                                    key, body, ts
                                ),
                                signatures.SENDGRID_TIMESTAMP: str(ts),
                            },
                        )
                        if answer.status_code != 200:
                            failures.append((i, answer.status_code))
                        if i % 10 == 0:
                            rss.append(_rss_kb(proc.pid))

            cpu_before = _cpu_s(proc.pid)
            sender_cpu_before = sum(os.times()[:2])
            started = time.perf_counter()
            threads = [threading.Thread(target=sender) for _ in range(args.senders)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            receiver_s = time.perf_counter() - started
            receiver_cpu_s = _cpu_s(proc.pid) - cpu_before
            sender_cpu_s = sum(os.times()[:2]) - sender_cpu_before
            with psycopg.connect(url) as conn:  # the receiver's server processes (one a thread)
                backends = conn.execute(
                    "select pid from pg_stat_activity where datname = current_database()"
                    " and pid <> pg_backend_pid() and backend_type = 'client backend'"
                ).fetchall()
            server_cpu_s = sum(_cpu_s(pid) for (pid,) in backends)
            with psycopg.connect(url) as conn:
                (stored,) = conn.execute("select count(*) from raw_events.email_events").fetchone()
            assert not failures and stored == args.events, (failures[:5], stored)
            # the machine is shared: the floor is measured before and after the receiver,
            # and the ratio taken against their mean
            copy_after_s = bare_copy(
                url, args.events, args.batch, now, max_bytes, table="bench_copy_after"
            )
            copy_s = (copy_s + copy_after_s) / 2

            def per_event(seconds: float) -> float:
                return round(seconds / args.events * 1e6, 1)

            out.update(
                {
                    "posts": posts,
                    "events_per_post": round(args.events / posts),
                    "copy_events_per_s": round(args.events / copy_s),
                    "copy_events_per_s_before_after": [
                        round(args.events / copy_before_s),
                        round(args.events / copy_after_s),
                    ],
                    "receiver_events_per_s": round(args.events / receiver_s),
                    "ratio_receiver_to_copy": round(copy_s / receiver_s, 3),
                    # CPU per event: the receiver process, its database server processes, the
                    # senders (this process), and the COPY's server process
                    "cpu_us_per_event": {
                        "receiver": per_event(receiver_cpu_s),
                        "receiver_server": per_event(server_cpu_s),
                        "senders": per_event(sender_cpu_s),
                        "copy_server": per_event(SERVER_CPU_S["bench_copy"]),
                    },
                    "receiver_rss_kb_first_last_max": [rss[0], rss[-1], max(rss)] if rss else None,
                    "cpu_count": os.cpu_count(),
                    "load_average": [round(x, 2) for x in os.getloadavg()],
                }
            )
            out.update(latency(url, base, key))
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=10)
            if not args.keep:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'drop database if exists "{name}" with (force)')
    print(json.dumps(out, indent=2))
    return 0


def latency(url: str, base: str, key) -> dict:
    """Signed event posted -> visible in marketing.engagement_events (built here once), and
    -> recorded by the Dagster sensor as a materialization of raw_events/email_events."""
    import dagster as dg
    import httpx
    import psycopg

    from app.dbt import run_dbt
    from loaders.email_events import signatures
    from orchestration.assets.campaigns import KEYS, email_events_arrivals

    proc = run_dbt(["run", "--select", "+engagement_events"], url=url, check=False, capture=True)
    if proc.returncode != 0:
        return {"event_to_mart_latency_ms": None}
    os.environ["OUTREACH_DATABASE_URL"] = url  # the sensor reads the warehouse from there
    with dg.instance_for_test() as instance:
        before = email_events_arrivals(dg.build_sensor_context(instance=instance))
        body = json.dumps(
            [
                {
                    "email": "late@example.com",
                    "timestamp": int(time.time()),
                    "event": "delivered",
                    "sg_event_id": "latency-probe",
                }
            ]
        ).encode()
        ts = int(time.time())
        started = time.perf_counter()
        httpx.post(
            f"{base}/webhooks/sendgrid",
            content=body,
            headers={
                signatures.SENDGRID_SIGNATURE: signatures.sign_sendgrid(key, body, ts),
                signatures.SENDGRID_TIMESTAMP: str(ts),
            },
        )
        deadline = time.monotonic() + 60
        with psycopg.connect(url, autocommit=True) as conn:
            while (
                time.monotonic() < deadline
                and not conn.execute(
                    "select 1 from marketing.engagement_events"
                    " where engagement_event_id = 'sendgrid:latency-probe'"
                ).fetchone()
            ):
                time.sleep(0.01)
        mart_ms = (time.perf_counter() - started) * 1000
        after = email_events_arrivals(
            dg.build_sensor_context(instance=instance, cursor=before.cursor)
        )
        sensor_ms = (time.perf_counter() - started) * 1000
        recorded = [
            e.metadata["new_rows"].value
            for e in getattr(after, "asset_events", [])
            if e.asset_key == KEYS["email_events"]
        ]
    return {
        "event_to_mart_latency_ms": round(mart_ms, 1),
        "event_to_dagster_materialization_ms": round(sensor_ms, 1) if recorded == [1] else None,
        "dagster_sensor_interval_s": 30,
    }


if __name__ == "__main__":
    raise SystemExit(main())
