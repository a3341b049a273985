"""Benchmark: company page checks of 10,000 URLs against local sites, 5 % of them hanging.

    .venv/bin/python benchmarks/bench_company_pages.py [--urls 10000] [--hang-share 0.05]
        [--concurrency 100] [--deadline 2]

The sites server (``python -m testing.company_sites``) runs in its own process on
127.0.0.1; the checker (``loaders.company_pages.checker.check_pages``) reaches every
``site-NNNNN.com`` host through ``HostsTransport`` (no DNS). Each URL costs a robots.txt
request and a page request; a hanging host costs one request deadline (its robots.txt never
answers, so the page is not asked for). Printed as one JSON document:

- ``run``: seconds, URLs/s and outcomes of the run with hanging hosts;
- ``baseline``: the same URLs in the same run with no host hanging;
- ``bound_seconds``: what concurrency and the deadline allow - the baseline's time plus
  ceil(hanging URLs / concurrency) deadlines (each slot stuck on a hanging host is stuck
  for at most one deadline) - and ``within_bound``;
- ``ratio_to_baseline``.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loaders.company_pages.checker import HostsTransport, Target, check_pages  # noqa: E402


def serve(urls: int, hang_share: float) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testing.company_sites",
            "--hosts",
            str(urls),
            "--hang-share",
            str(hang_share),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    return proc, int(proc.stdout.readline())


def run(port: int, urls: int, concurrency: int, deadline: float) -> dict:
    targets = [Target(f"https://site-{i:05d}.com/") for i in range(urls)]
    transport = HostsTransport({}, default=("127.0.0.1", port))
    started = time.perf_counter()
    results = check_pages(
        targets,
        transport=transport,
        concurrency=concurrency,
        request_deadline_s=deadline,
        read_timeout_s=deadline,
        connect_timeout_s=deadline,
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "urls_per_second": round(urls / seconds, 1),
        "outcomes": dict(Counter(r.outcome for r in results)),
        "slowest_check_ms": max(r.elapsed_ms for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--hang-share", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--deadline", type=float, default=2.0, help="per-request deadline (s)")
    args = parser.parse_args()
    report: dict = {
        "urls": args.urls,
        "hang_share": args.hang_share,
        "concurrency": args.concurrency,
        "deadline_s": args.deadline,
    }
    for name, share in (("baseline", 0.0), ("run", args.hang_share)):
        proc, port = serve(args.urls, share)
        try:
            report[name] = run(port, args.urls, args.concurrency, args.deadline)
        finally:
            proc.terminate()
            proc.wait(10)
    hanging = report["run"]["outcomes"].get("timeout", 0)
    bound = report["baseline"]["seconds"] + math.ceil(hanging / args.concurrency) * args.deadline
    report["hanging_urls"] = hanging
    report["bound_seconds"] = round(bound, 2)
    report["within_bound"] = report["run"]["seconds"] <= bound * 1.1  # 10 % scheduling slack
    report["ratio_to_baseline"] = round(report["run"]["seconds"] / report["baseline"]["seconds"], 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
