"""Benchmark: the webhook receiver's ingest rate against a bare COPY of the same events,
its memory, and the event -> mart latency.

    .venv/bin/python benchmarks/bench_email_events.py [--events 100000] [--batch 1000]
        [--senders 2] [--keep]

1. a fresh database on the warehouse server (embedded unless OUTREACH_DATABASE_URL);
2. ``events`` SendGrid-shaped events (the test-mode simulator's shapes), generated per
   batch of ``batch`` (SendGrid posts up to a few thousand per request), so memory stays
   flat at 1M;
3. ``copy``: psycopg ``COPY`` of the same rows (key, provider, type, email, time,
   message id, payload) into a bare table with the same columns, no key, no index - the
   floor; only the COPY is timed (generating and parsing the rows is not);
4. ``receiver``: ``outreach serve`` as its own process (uvicorn), ``senders`` concurrent
   clients posting the signed batches; every event verified, parsed, inserted (dedupe on
   the key) and committed before the 200. The senders (generating, serialising and
   signing each batch) run on the same cores, so the rate is a lower bound. The receiver's RSS is sampled during the run
   (flat memory: the last sample against the first after warm-up);
5. ``latency``: one more signed event, the time until it is visible in
   ``marketing.engagement_events`` (a view over the raw table: no build on the path; the
   Dagster path adds nothing unless the marts become tables).

Prints one JSON document: events/s of both, the ratio receiver/copy (goal >= 0.25 at 1M
events), RSS samples, latency, and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
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


def batches(total: int, size: int, now: int):
    for start in range(0, total, size):
        yield make_events(start, min(size, total - start), now)


def bare_copy(url: str, total: int, size: int, now: int) -> float:
    """COPY of the same rows into a bare table (no key, no index): the floor."""
    import psycopg

    from loaders.email_events.events import sendgrid_events

    with psycopg.connect(url) as conn:
        conn.execute(
            "create table bench_copy (event_key text, provider text, event_type text,"
            " email text, occurred_at timestamptz, message_id text, payload jsonb)"
        )
        conn.commit()
        spent = 0.0  # only the COPY: generating and parsing a batch is not timed
        with conn.cursor().copy(
            "copy bench_copy (event_key, provider, event_type, email, occurred_at, message_id,"
            " payload) from stdin"
        ) as copy:
            for batch in batches(total, size, now):
                rows = [
                    (
                        e.event_key,
                        e.provider,
                        e.event_type,
                        e.email,
                        e.occurred_at,
                        e.message_id,
                        json.dumps(e.payload),
                    )
                    for e in sendgrid_events(batch)
                ]
                started = time.perf_counter()
                for row in rows:
                    copy.write_row(row)
                spent += time.perf_counter() - started
            started = time.perf_counter()
        conn.commit()
        return spent + time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=1000)
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
    out: dict = {"events": args.events, "batch": args.batch, "senders": args.senders}
    proc = None
    try:
        copy_s = bare_copy(url, args.events, args.batch, now)
        bodies = (json.dumps(b).encode() for b in batches(args.events, args.batch, now))
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
                            signatures.SENDGRID_SIGNATURE: signatures.sign_sendgrid(key, body, ts),
                            signatures.SENDGRID_TIMESTAMP: str(ts),
                        },
                    )
                    if answer.status_code != 200:
                        failures.append((i, answer.status_code))
                    if i % 10 == 0:
                        rss.append(_rss_kb(proc.pid))

        started = time.perf_counter()
        threads = [threading.Thread(target=sender) for _ in range(args.senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        receiver_s = time.perf_counter() - started
        with psycopg.connect(url) as conn:
            (stored,) = conn.execute("select count(*) from raw_events.email_events").fetchone()
        assert not failures and stored == args.events, (failures[:5], stored)
        out.update(
            {
                "copy_events_per_s": round(args.events / copy_s),
                "receiver_events_per_s": round(args.events / receiver_s),
                "ratio_receiver_to_copy": round(copy_s / receiver_s, 3),
                "receiver_rss_kb_first_last_max": [rss[0], rss[-1], max(rss)] if rss else None,
                "cpu_count": os.cpu_count(),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
        )
        out["event_to_mart_latency_ms"] = latency(url, base, key)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
    print(json.dumps(out, indent=2))
    return 0


def latency(url: str, base: str, key) -> float | None:
    """Signed event posted -> visible in marketing.engagement_events (built here once)."""
    import httpx
    import psycopg

    from app.dbt import run_dbt
    from loaders.email_events import signatures

    proc = run_dbt(["run", "--select", "+engagement_events"], url=url, check=False, capture=True)
    if proc.returncode != 0:
        return None
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
    return round((time.perf_counter() - started) * 1000, 1)


if __name__ == "__main__":
    raise SystemExit(main())
