"""Benchmark: land Apify profile items into raw_apify, beside a psycopg COPY of the same rows.

    .venv/bin/python benchmarks/bench_apify_load.py [--items 100000] [--rounds 3]
        [--memory-sizes 10000,100000] [--tracemalloc] [--http] [--keep]

Runs in a fresh database on the warehouse server (embedded, or OUTREACH_DATABASE_URL's
server) and prints one JSON document:

- ``landing``: N generated dataset items (the published item shapes, as the test-mode
  server makes them) through the loader's own ``land()`` - ``ItemCollector`` (parse, canonical JSON,
  item keys, dedupe) -> pyarrow batches -> dlt extract / normalize (csv) / load (COPY,
  several files in parallel) - with each step's seconds;
- ``copy``: the very same rows (prepared beforehand) with ``psycopg`` ``COPY`` into a table
  shaped like raw_apify.profile_items with its indexes, in the same database, in the same
  run; ``copy_without_indexes``: the same into a bare table (the ceiling). Landing and both
  COPYs alternate for ``--rounds`` rounds; the median round of each is reported;
- ``memory``: peak RSS (VmHWM) of a fresh subprocess that generates items page by page and
  lands them, at each size (flat: the peak does not grow with the item count); with
  ``--tracemalloc`` also the Python heap peak (a slower second pass);
- ``http`` (with ``--http``): the full refresh over HTTP through the official apify-client
  against the test-mode server (testing.apify) in its own process (start run, wait, page
  1,000 items at a time, land), at each memory size.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGE = 1000


def _peak_rss_mb() -> float:
    """This process's peak resident set size. VmHWM, not ru_maxrss: on Linux ru_maxrss
    carries over the (large) benchmark parent's peak into a child across fork + exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _with_db(url: str, dbname: str) -> str:
    return urlsplit(url)._replace(path=f"/{dbname}").geturl()


def _pages(n: int, *, seed: int = 1):
    """Generated dataset items, made lazily (as the official client yields them)."""
    from testing.apify import ApifyTestServer

    server = ApifyTestServer(seed=seed)
    for i in range(n):
        yield server.item(f"https://www.linkedin.com/in/bench-{i:07d}", 0)


def _collector(job: str, dataset: str):
    """A collector as a live job makes one; ``requested`` is empty because these items answer
    no job's request (a real job remembers only its own <= max_profiles profiles)."""
    from loaders.apify_linkedin.source import ItemCollector

    now = datetime.now(UTC)
    return ItemCollector(
        job_unique_id=job,
        run_id="bench-run",
        dataset_id=dataset,
        observed_at=now,
        loaded_at=now,
        requested=set(),
    )


def _timed_land(url: str, pages: list, pipelines_dir: Path) -> dict:
    """Land pre-made pages with the loader's own landing code, timing each step."""
    from loaders.apify_linkedin.run import land

    collector = _collector("bench-landing", f"bench-{uuid.uuid4().hex[:8]}")
    steps: dict[str, float] = {}
    t0 = time.perf_counter()
    land(collector, pages, url, pipelines_dir=pipelines_dir, timings=steps)
    seconds = time.perf_counter() - t0
    assert collector.error is None, collector.error
    return {
        "rows": collector.items_kept,
        "seconds": round(seconds, 3),
        "rows_per_s": round(collector.items_kept / seconds),
        "steps_seconds": {k: round(v, 3) for k, v in steps.items()},
    }


def _copy_rows(pages: list) -> tuple[list[str], list[tuple]]:
    """The rows the loader would land for these pages (same columns, same values)."""
    from loaders.apify_linkedin.source import ITEM_SCHEMA

    collector = _collector("bench-copy", f"copy-{uuid.uuid4().hex[:8]}")
    rows: list[tuple] = []
    names = [f.name for f in ITEM_SCHEMA]
    for table in collector.batches(pages):
        columns = [table.column(n).to_pylist() for n in names]
        rows.extend(zip(*columns, strict=True))
    return names, rows


def _timed_copy(url: str, names: list[str], rows: list[tuple], *, indexes: bool) -> dict:
    """COPY the rows into a new table shaped like raw_apify.profile_items - with its
    indexes (the like-for-like comparison) or without any (the bare ceiling)."""
    import psycopg

    table = f"raw_apify.copy_{'indexed' if indexes else 'bare'}"
    including = "including all" if indexes else "including defaults"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"create table {table} (like raw_apify.profile_items {including})")
        cols = ", ".join(names)
        t0 = time.perf_counter()
        with (
            conn.transaction(),
            conn.cursor() as cur,
            cur.copy(f"copy {table} ({cols}) from stdin") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        seconds = time.perf_counter() - t0
        landed = conn.execute(f"select count(*) from {table}").fetchone()[0]
        conn.execute(f"drop table {table}")
    return {"rows": landed, "seconds": round(seconds, 3), "rows_per_s": round(landed / seconds)}


# ---------------------------------------------------------------------------- workers
def worker_memory(url: str, n: int, pipelines_dir: Path, trace: bool = False) -> dict:
    """Generate and land n items page by page in this (fresh) process."""
    from loaders.apify_linkedin.run import land

    if trace:
        tracemalloc.start()
    collector = _collector(f"bench-memory-{n}", f"mem-{n}-{uuid.uuid4().hex[:8]}")
    t0 = time.perf_counter()
    land(collector, _pages(n, seed=n), url, pipelines_dir=pipelines_dir)
    seconds = time.perf_counter() - t0
    out = {
        "items": n,
        "rows": collector.items_kept,
        "seconds": round(seconds, 3),
        "peak_rss_mb": _peak_rss_mb(),
    }
    if trace:
        out["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    return out


def worker_http(url: str, n: int, pipelines_dir: Path) -> dict:
    """A full refresh of n profiles over HTTP against a test-mode server subprocess."""
    from loaders.apify_linkedin.run import refresh_profiles

    # the official client's import (pydantic models, seconds on a busy machine) is a
    # once-per-process cost, reported apart from the refresh it would otherwise dominate
    t_import = time.perf_counter()
    import apify_client  # noqa: F401

    import_seconds = time.perf_counter() - t_import
    token = "bench-token"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testing.apify",
            "--port",
            "0",
            "--token",
            token,
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        base_url = server.stdout.readline().split(" on ", 1)[1].split(" ", 1)[0]
        os.environ.update(OUTREACH_TEST_MODE="true", APIFY_BASE_URL=base_url, APIFY_TOKEN=token)
        urls = [f"https://www.linkedin.com/in/http-{n}-{i:07d}" for i in range(n)]
        t0 = time.perf_counter()
        result = refresh_profiles(
            urls=urls,
            max_profiles=n,
            database_url=url,
            progress=lambda _m: None,
            min_retry_delay_s=0.01,
            http_timeout_s=120.0,
            pipelines_dir=pipelines_dir,
        )
        seconds = time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(timeout=10)
    (job,) = result.jobs
    assert job.status == "completed", job.error_message
    return {
        "profiles": n,
        "rows": job.items_landed,
        "seconds": round(seconds, 3),
        "rows_per_s": round(job.items_landed / seconds),
        "client_import_seconds": round(import_seconds, 3),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _subprocess(kind: str, url: str, n: int, tmp: Path, *extra: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            kind,
            "--db",
            url,
            "--items",
            str(n),
            "--tmp",
            str(tmp),
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "RUNTIME__LOG_LEVEL": "WARNING"},
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{kind} worker ({n}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--memory-sizes", default="10000,100000")
    p.add_argument("--http", action="store_true", help="also time full refreshes over HTTP")
    p.add_argument("--rounds", type=int, default=3, help="landing/COPY rounds (median reported)")
    p.add_argument(
        "--tracemalloc",
        action="store_true",
        help="also report the Python heap peak (a second, much slower pass per size)",
    )
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    p.add_argument("--worker", choices=["memory", "http"], help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--tmp", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        if args.worker == "memory":
            result = worker_memory(args.db, args.items, Path(args.tmp), args.tracemalloc)
        else:
            result = worker_http(args.db, args.items, Path(args.tmp))
        print(json.dumps(result))
        return 0

    import tempfile

    import psycopg

    from loaders.apify_linkedin.jobs import ensure_tables
    from outreach.warehouse import database_url, mask_url_password

    server_url = database_url()
    name = f"bench_apify_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _with_db(server_url, name)
    sizes = [int(s) for s in args.memory_sizes.split(",") if s]
    report: dict = {"database": mask_url_password(url), "items": args.items}
    try:
        with tempfile.TemporaryDirectory() as tmp_dir:
            tmp = Path(tmp_dir)
            ensure_tables(url)
            # warm up: dlt creates the tables and its state once (not part of the timing)
            _timed_land(url, list(_pages(PAGE, seed=999)), tmp / "dlt")
            pages = list(_pages(args.items))
            # In a real refresh pages stream in from HTTP one at a time; here they are made
            # beforehand, and the garbage collector would otherwise keep re-scanning them.
            gc.freeze()
            names, rows = _copy_rows(pages)
            rounds = []
            for _ in range(args.rounds):  # interleaved, so a noisy neighbour hits all alike
                rounds.append(
                    {
                        "landing": _timed_land(url, pages, tmp / "dlt"),
                        "copy": _timed_copy(url, names, rows, indexes=True),
                        "copy_without_indexes": _timed_copy(url, names, rows, indexes=False),
                    }
                )
            del pages, rows
            for key in ("landing", "copy", "copy_without_indexes"):
                ordered = sorted(rounds, key=lambda r, k=key: r[k]["rows_per_s"])
                report[key] = ordered[len(ordered) // 2][key]
                report[key]["rows_per_s_each_round"] = [r[key]["rows_per_s"] for r in rounds]
            for key in ("copy", "copy_without_indexes"):
                report[f"landing_vs_{key}"] = round(
                    report["landing"]["rows_per_s"] / report[key]["rows_per_s"], 3
                )
            report["memory"] = [_subprocess("memory", url, n, tmp / f"m{n}") for n in sizes]
            if args.tracemalloc:
                report["memory_tracemalloc"] = [
                    _subprocess("memory", url, n, tmp / f"t{n}", "--tracemalloc") for n in sizes
                ]
            if len(sizes) > 1:
                first, last = report["memory"][0], report["memory"][-1]
                report["memory_growth_mb"] = round(last["peak_rss_mb"] - first["peak_rss_mb"], 1)
            if args.http:
                report["http"] = [_subprocess("http", url, n, tmp / f"h{n}") for n in sizes]
    finally:
        if not args.keep:
            with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
