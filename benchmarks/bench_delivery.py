"""Benchmark: outbox delivery throughput to a local webhook receiver.

    .venv/bin/python benchmarks/bench_delivery.py [--rows 5000] [--rounds 3] [--keep]

1. a fresh database on the warehouse server (embedded unless OUTREACH_DATABASE_URL) gets a
   PLE-shaped outbox of ``rows`` messages (1,000 people, their changes in order);
2. the receiver runs as its own process (``python -m testing.receiver``, signature check
   and idempotency-key dedupe per request, nothing printed) on 127.0.0.1;
3. per round, in the same run and against the same receiver:
   - ``baseline``: plain httpx POSTs of the same signed bodies, one after another on one
     keep-alive connection, with fresh idempotency keys - the HTTP work alone, no log,
     no database;
   - ``delivery``: ``exports.outbox.deliver`` of the whole outbox (pending query, advisory
     lock, one log row inserted before and updated after each POST, dead-letter and
     breaker bookkeeping, per-person order), under a new target each round (so every
     row is pending again and the receiver sees new keys).

Prints one JSON document: rows/s of both (each round and the median), the ratio
delivery/baseline, the delivery's per-row overhead in ms, its POST latency p50/p95, and
the machine's load average (the figures scale with it).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-delivery-secret"  # a local throwaway, only for the receiver started here


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_receiver() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "testing.receiver", "--port", str(port), "--print", "none"],
        cwd=str(ROOT),
        env={**os.environ, "OUTREACH_WEBHOOK_SECRET": SECRET},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = proc.stdout.readline()
    if "http://127.0.0.1" not in line:
        proc.kill()
        raise RuntimeError(f"receiver did not start: {line!r}")
    return proc, line.strip()


def make_outbox(url: str, rows: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema bench")
        conn.execute(
            "create table bench.ple_enqueue_outbox (outbox_id text primary key,"
            " person_unique_id text, payload jsonb, created_at timestamptz)"
        )
        with conn.cursor().copy(
            "copy bench.ple_enqueue_outbox (outbox_id, person_unique_id, payload, created_at)"
            " from stdin"
        ) as copy:
            for n in range(rows):
                oid = f"04.04.04.25.{n + 1:05d}.{(n + 1) % 1000:03d}"
                person = f"04.04.02.25.{n % 1000 + 1:05d}.{(n % 1000 + 1) % 1000:03d}"
                payload = {
                    "person_id": person,
                    "company_id": "04.04.01.25.00001.001",
                    "change_type": "promotion",
                    "source": "linkedin",
                    "intel_id": oid,
                    "priority": "high",
                    "matched_company_id": None,
                }
                copy.write_row((oid, person, json.dumps(payload), f"2026-01-01 00:00:{n % 60:02d}"))


def bodies(url: str) -> list[tuple[str, bytes]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return [
            (oid, payload.encode())
            for oid, payload in conn.execute(
                "select outbox_id, payload::text from bench.ple_enqueue_outbox"
                " order by created_at, outbox_id"
            )
        ]


def baseline(hook: str, rows: list[tuple[str, bytes]], tag: str) -> float:
    import httpx

    from exports.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign

    with httpx.Client(timeout=10) as http:
        t = time.perf_counter()
        for oid, body in rows:
            response = http.post(
                hook,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    IDEMPOTENCY_HEADER: f"{tag}:{oid}",
                    SIGNATURE_HEADER: sign(body, f"{tag}:{oid}", SECRET, timestamp=time.time()),
                },
            )
            response.raise_for_status()
        return len(rows) / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=5000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = p.parse_args(argv)

    import psycopg

    from exports.outbox import OutboxSpec, Webhook, deliver
    from outreach.warehouse import database_url

    server = database_url()
    name = f"bench_delivery_{uuid.uuid4().hex[:8]}"
    admin = urlsplit(server)._replace(path="/postgres").geturl()
    url = urlsplit(server)._replace(path=f"/{name}").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    receiver, hook = start_receiver()
    out: dict = {"rows": args.rows, "rounds": args.rounds}
    try:
        make_outbox(url, args.rows)
        rows = bodies(url)
        spec = OutboxSpec(
            target="bench_ple",
            relation="bench.ple_enqueue_outbox",
            id_column="outbox_id",
            order_column="person_unique_id",
        )
        webhook = Webhook(hook, SECRET, timeout_s=10)
        base_rates, delivery_rates, latencies = [], [], []
        for r in range(args.rounds):
            base_rates.append(baseline(hook, rows, f"baseline{r}"))
            # a target per round: every row pending again, and new keys for the receiver
            round_spec = OutboxSpec(**{**spec.__dict__, "target": f"bench_ple_{r}"})
            report = deliver(url, round_spec, webhook)
            assert report.delivered == args.rows, report.as_dict()
            delivery_rates.append(args.rows / report.seconds)
            latencies.extend(report.latencies_ms)
        base, delivery = statistics.median(base_rates), statistics.median(delivery_rates)
        latencies.sort()
        out.update(
            {
                "baseline_rows_per_s": round(base, 1),
                "delivery_rows_per_s": round(delivery, 1),
                "ratio_delivery_to_baseline": round(delivery / base, 3),
                "delivery_overhead_ms_per_row": round(1000 / delivery - 1000 / base, 3),
                "post_latency_ms_p50": round(latencies[len(latencies) // 2], 3),
                "post_latency_ms_p95": round(latencies[int(len(latencies) * 0.95)], 3),
                "baseline_rounds": [round(x, 1) for x in base_rates],
                "delivery_rounds": [round(x, 1) for x in delivery_rates],
                "receiver": "python -m testing.receiver (own process, ThreadingHTTPServer)",
                "cpu_count": os.cpu_count(),
                "load_average": [round(x, 2) for x in os.getloadavg()],
            }
        )
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
