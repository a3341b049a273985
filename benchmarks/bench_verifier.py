"""Benchmark: MillionVerifier verification throughput against the test-mode server.

    .venv/bin/python benchmarks/bench_verifier.py [--emails 1000] [--latency-ms 0,50]
        [--concurrency 1,10] [--rounds 3] [--land]

The test-mode server runs in its own process (``python -m testing.millionverifier``)
on 127.0.0.1, so client and server do not share a GIL. For each simulated API latency
(``--latency-ms``: time the server takes per address; 0 measures pure HTTP + client cost)
the script prints, as one JSON document:

- ``client``: emails/s of ``helpers.verify_many`` (threads over dlt's retrying requests
  client, parsing) at each concurrency, the median of ``--rounds`` rounds;
- ``baseline``: emails/s of the plainest possible sequential loop over the same server in
  the same run (one ``httpx.Client``, one GET per address, JSON decoded, nothing else) -
  the cost floor at concurrency 1;
- ``latency_bound``: concurrency / latency, the most any client could do at that latency.

With ``--land`` it also times a whole ``verify_emails`` run into a scratch database
(verification + dlt landing + the run row), at the highest concurrency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loaders.millionverifier import helpers  # noqa: E402
from loaders.millionverifier.settings import TEST_MODE_API_KEY  # noqa: E402


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(latency_s: float) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testing.millionverifier",
            "--port",
            str(port),
            "--latency",
            str(latency_s),
        ],
        cwd=str(ROOT),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = proc.stdout.readline()  # "MillionVerifier test server on http://127.0.0.1:PORT ..."
    if "http://127.0.0.1" not in line:
        proc.kill()
        raise RuntimeError(f"test server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{port}"


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _emails(n: int, tag: str) -> list[str]:
    return [f"person{i}.{tag}@company{i % 97}.com" for i in range(n)]


def bench_client(base_url: str, n: int, concurrency: int, rounds: int) -> dict:
    rates = []
    for r in range(rounds):
        client = helpers.http_client(base_url, concurrency)
        api = helpers.Api(client, base_url, TEST_MODE_API_KEY)
        emails = _emails(n, f"c{concurrency}r{r}")
        t = time.perf_counter()
        outcome = helpers.verify_many(api, emails, concurrency=concurrency)
        seconds = time.perf_counter() - t
        assert len(outcome.answers) == n, (len(outcome.answers), outcome.unanswered)
        rates.append(n / seconds)
    return {
        "concurrency": concurrency,
        "emails": n,
        "emails_per_s": round(statistics.median(rates), 1),
        "rounds": [round(x, 1) for x in rates],
    }


def bench_baseline(base_url: str, n: int, rounds: int) -> dict:
    import httpx

    rates = []
    for r in range(rounds):
        emails = _emails(n, f"b{r}")
        with httpx.Client(timeout=30) as http:
            t = time.perf_counter()
            for email in emails:
                http.get(
                    f"{base_url}/api/v3/",
                    params={"api": TEST_MODE_API_KEY, "email": email, "timeout": 20},
                ).json()
            rates.append(n / (time.perf_counter() - t))
    return {"emails": n, "emails_per_s": round(statistics.median(rates), 1)}


def bench_land(base_url: str, n: int, concurrency: int) -> dict:
    import psycopg

    from loaders.millionverifier.run import verify_emails
    from outreach.warehouse import database_url

    server = database_url()
    name = f"bench_mv_{uuid.uuid4().hex[:8]}"
    admin = urlsplit(server)._replace(path="/postgres").geturl()
    url = urlsplit(server)._replace(path=f"/{name}").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    try:
        from loaders.millionverifier.run import ensure_raw_tables

        t = time.perf_counter()
        ensure_raw_tables(url)
        ensure_s = time.perf_counter() - t
        summary = verify_emails(
            _emails(n, "land"),
            database_url=url,
            concurrency=concurrency,
            base_url=base_url,
            api_key=TEST_MODE_API_KEY,
            progress=lambda _m: None,
        )
        with psycopg.connect(url) as conn:
            landed = conn.execute("select count(*) from raw_verifier.email_checks").fetchone()[0]
        return {
            "emails": n,
            "concurrency": concurrency,
            "landed": landed,
            "seconds": round(summary.seconds, 2),
            "emails_per_s_end_to_end": round(n / summary.seconds, 1),
            "emails_per_s_verification_only": round(summary.emails_per_second, 1),
            "create_raw_tables_s": round(ensure_s, 2),
        }
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--emails", type=int, default=1000)
    p.add_argument("--latency-ms", default="0,50", help="simulated API latencies, comma-separated")
    p.add_argument("--concurrency", default="1,10", help="concurrencies, comma-separated")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--land", action="store_true", help="also time a full verify_emails run")
    args = p.parse_args(argv)
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    report: dict = {"emails": args.emails, "rounds": args.rounds, "by_latency": []}
    for latency_ms in [float(x) for x in args.latency_ms.split(",")]:
        proc, base_url = start_server(latency_ms / 1000)
        try:
            # fewer addresses at high latency at concurrency 1 (it is latency bound anyway)
            n_slow = args.emails if latency_ms == 0 else min(args.emails, 200)
            entry = {
                "latency_ms": latency_ms,
                "baseline_sequential_httpx": bench_baseline(base_url, n_slow, args.rounds),
                "client": [
                    bench_client(base_url, n_slow if c == 1 else args.emails, c, args.rounds)
                    for c in concurrencies
                ],
            }
            if latency_ms:
                entry["latency_bound"] = {
                    str(c): round(c / (latency_ms / 1000), 1) for c in concurrencies
                }
            if args.land:
                entry["verify_emails_end_to_end"] = bench_land(
                    base_url, args.emails, max(concurrencies)
                )
            report["by_latency"].append(entry)
        finally:
            stop_server(proc)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
