"""Benchmark: recovering from a loader killed mid-load, at users' scale.

    .venv/bin/python benchmarks/bench_fault_recovery.py [--people 200000] [--companies 2000]

The same faults as tests/test_faults.py (which runs them on small files), on one
warehouse server (OUTREACH_DATABASE_URL, else the embedded one), in the same run:

- ``uninterrupted``: one ``outreach load intake`` of the files into an empty database;
- for each kill point (testing/intake_faults.py): the load killed with SIGKILL there,
  then the re-run that must land exactly what the uninterrupted load landed.

Prints one JSON document: wall seconds per step, rows landed, whether each recovery
matches the uninterrupted load (count and checksum), and the ratio of each re-run's time
to the uninterrupted load's.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from outreach.warehouse import database_url  # noqa: E402
from testing.intake_faults import (  # noqa: E402
    POINTS,
    blocked_at,
    landed,
    load,
    prepare,
    start_load,
    wait_until_waiting,
    with_db,
    write_files,
)


def fresh(server: str, name: str) -> str:
    with psycopg.connect(with_db(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return with_db(server, name)


def drop(server: str, name: str) -> None:
    with psycopg.connect(with_db(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=200_000)
    ap.add_argument("--companies", type=int, default=2_000)
    args = ap.parse_args()
    server = database_url()
    out: dict = {"people": args.people, "companies": args.companies, "steps": {}}
    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(Path(tmp), args.people, args.companies)
        url = fresh(server, "bench_fault_reference")
        try:
            started = time.perf_counter()
            done = load(url, files)
            assert done.returncode == 0, done.stderr
            base = time.perf_counter() - started
            reference = landed(url)
        finally:
            drop(server, "bench_fault_reference")
        out["steps"]["uninterrupted"] = {"seconds": round(base, 2), "landed": reference}
        for point in sorted(POINTS):
            name = f"bench_fault_{point}"
            url = fresh(server, name)
            try:
                prepare(url, files)
                started = time.perf_counter()
                with blocked_at(url, point) as holder:
                    proc = start_load(url, files)
                    try:
                        wait_until_waiting(url, proc, holder, timeout=3600)
                    finally:
                        os.killpg(proc.pid, signal.SIGKILL)
                        proc.communicate(timeout=120)
                until_kill = time.perf_counter() - started
                started = time.perf_counter()
                done = load(url, files)
                rerun = time.perf_counter() - started
                after = landed(url)
            finally:
                drop(server, name)
            out["steps"][point] = {
                "seconds_until_killed": round(until_kill, 2),
                "rerun_seconds": round(rerun, 2),
                "rerun_exit_code": done.returncode,
                "matches_uninterrupted": after == reference,
                "rerun_to_uninterrupted": round(rerun / base, 3),
            }
    print(json.dumps(out, indent=2))
    ok = all(v.get("matches_uninterrupted", True) for v in out["steps"].values())
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
