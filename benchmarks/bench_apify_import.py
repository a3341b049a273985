"""Benchmark: peak memory and time of `outreach load apify-linkedin --from-file` by file size.

    .venv/bin/python benchmarks/bench_apify_import.py [--sizes 200000,1000000]
        [--format json|jsonl|wrapped] [--compare ROOT --compare-sizes 200000] [--keep]

Writes Apify dataset files of each size - the published item shapes (flat, harvestapi
``experience[]``, devfusion ``experiences[]``) as the test-mode server (testing.apify)
makes them, each item with its own profile URL - and imports each one as a user does: the
``outreach`` console script in a subprocess, against a scratch database created on the
warehouse server (OUTREACH_DATABASE_URL's, else the embedded one) and dropped afterwards.
Prints one JSON document:

- ``baseline``: a 1,000-item import in the same run: the command's fixed cost;
- ``imports``: per size, the file's size, the wall seconds, the child's peak RSS
  (``ru_maxrss`` from ``wait4``: the import process alone), rows landed, and when the last
  progress line of each pass arrived (check pass, landing pass; the rest is dlt's
  normalize and the COPY into PostgreSQL);
- ``ratios``: peak RSS of the largest vs the smallest size (bounded memory: ~1, however
  many times bigger the file), peak RSS over file size, and seconds per item largest vs
  smallest (linear time: ~1);
- ``compare`` (with ``--compare ROOT``): the same imports run with the code at ROOT (e.g.
  ``git worktree add /tmp/before main``) in the same venv, and this code's RSS over that.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

POOL = 5_000  # distinct generated items; copies differ in their profile URL
BASELINE_ITEMS = 1_000
OBSERVED_AT = "2026-01-31T00:00:00Z"


def _with_db(url: str, dbname: str) -> str:
    return urlsplit(url)._replace(path=f"/{dbname}").geturl()


def _pool() -> list[tuple[bytes, bytes]]:
    """(item JSON, its profile slug) for POOL items of the three published shapes."""
    import orjson

    from testing.apify import ApifyTestServer, Faults

    server = ApifyTestServer(seed=1, faults=Faults(shape="mixed"))
    pool = []
    for j in range(POOL):
        slug = f"bench-p{j:07d}"
        pool.append((orjson.dumps(server.item(f"https://www.linkedin.com/in/{slug}", 0)), slug))
    return pool


def write_dataset(path: Path, n: int, fmt: str, pool: list[tuple[bytes, bytes]]) -> int:
    """n items (pool item i % POOL, its slug replaced by a unique one) in ``fmt``; the size."""
    open_, sep, close = {
        "json": (b"[\n", b",\n", b"\n]\n"),
        "wrapped": (b'{"count": %d, "items": [\n' % n, b",\n", b"\n]}\n"),
        "jsonl": (b"", b"\n", b"\n"),
    }[fmt]
    with path.open("wb") as f:
        f.write(open_)
        for i in range(n):
            item, slug = pool[i % POOL]
            if i:
                f.write(sep)
            f.write(item.replace(slug.encode(), b"bench-%09d" % i))
        f.write(close)
    return path.stat().st_size


def run_import(path: Path, db_url: str, state: Path, code_root: Path | None = None) -> dict:
    """`outreach load apify-linkedin --from-file path` in a subprocess: seconds, peak RSS."""
    env = {
        **os.environ,
        "OUTREACH_DATABASE_URL": db_url,
        "OUTREACH_STATE_DIR": str(state),
        "RUNTIME__LOG_LEVEL": "WARNING",
    }
    if code_root is not None:
        env["PYTHONPATH"] = str(code_root)
    command = [
        str(Path(sys.executable).parent / "outreach"),
        "load",
        "apify-linkedin",
        "--from-file",
        str(path),
        "--observed-at",
        OBSERVED_AT,
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT, text=True
    )
    lines: list[tuple[float, str]] = [(time.perf_counter() - t0, x) for x in proc.stdout]
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {proc.returncode}:\n" + "".join(x for _, x in lines)
        )

    def last(word: str) -> float | None:
        return next((t for t, x in reversed(lines) if x.strip().startswith(word)), None)

    # when the last progress line of each pass arrived (the passes print every 100k items)
    checked, landing = last("checked:"), last("landing:")
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux: KiB
        "progress_lines": sum(x.startswith("  ") and "items" in x for _, x in lines),
        "progress_at_seconds": {
            "last_checked": checked and round(checked, 1),
            "last_landing": landing and round(landing, 1),
        },
        "summary": next((x.strip() for _, x in reversed(lines) if "completed:" in x), ""),
    }


def _parse_and_extract(result: dict, n: int) -> dict:
    """Microseconds per item up to the landing pass's last progress line (both passes over
    the file: parse, fingerprint, arrow batches, dlt extract), apart from the load."""
    at = result["progress_at_seconds"]["last_landing"]
    return {"us_per_item_to_last_landing_line": round(at / n * 1e6)} if at else {}


def _rows(db_url: str) -> int:
    import psycopg

    with psycopg.connect(db_url) as conn:
        return conn.execute("select count(*) from raw_apify.profile_items").fetchone()[0]


def _fresh_database(server_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
        conn.execute(f'create database "{name}"')
    return _with_db(server_url, name)


def _drop(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def measure(path: Path, server_url: str, work: Path, tag: str, code_root=None) -> dict:
    """Import ``path`` into an empty scratch database (one per import: no carry-over)."""
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    db_url = _fresh_database(server_url, name)
    try:
        result = run_import(path, db_url, work / f"state-{tag}", code_root)
        result["rows"] = _rows(db_url)
    finally:
        _drop(server_url, name)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="200000,1000000", help="items per file, comma-separated")
    p.add_argument("--format", choices=["json", "jsonl", "wrapped"], default="json")
    p.add_argument("--compare", type=Path, help="also import with the code at this checkout")
    p.add_argument("--compare-sizes", default="200000", help="sizes imported with --compare")
    p.add_argument("--keep", action="store_true", help="keep the generated files (printed)")
    args = p.parse_args(argv)

    from outreach.warehouse import database_url

    server_url = database_url()
    sizes = sorted(int(x) for x in args.sizes.split(",") if x)
    pool = _pool()
    work = Path(tempfile.mkdtemp(prefix="bench_import_"))
    report: dict = {"format": args.format, "pool_items": POOL, "observed_at": OBSERVED_AT}
    try:
        files = {}
        for n in [BASELINE_ITEMS, *sizes]:
            path = work / f"dataset_{n}.{'jsonl' if args.format == 'jsonl' else 'json'}"
            t0 = time.perf_counter()
            files[n] = (path, write_dataset(path, n, args.format, pool))
            print(f"wrote {path.name} in {time.perf_counter() - t0:.0f}s", file=sys.stderr)

        def one(n: int, code_root: Path | None = None, tag: str = "new") -> dict:
            path, size = files[n]
            print(f"importing {n:,} items ({tag}) ...", file=sys.stderr)
            result = measure(path, server_url, work, f"{tag}-{n}", code_root)
            file_mb = size / 2**20
            return {
                "items": n,
                "file_mb": round(file_mb, 1),
                **result,
                "rss_over_file": round(result["peak_rss_mb"] / file_mb, 2),
                "us_per_item": round(result["seconds"] / n * 1e6),
                **_parse_and_extract(result, n),
            }

        report["baseline"] = one(BASELINE_ITEMS)
        report["imports"] = [one(n) for n in sizes]
        small, large = report["imports"][0], report["imports"][-1]
        base = report["baseline"]["peak_rss_mb"]
        report["ratios"] = {
            "items_largest_vs_smallest": round(large["items"] / small["items"], 2),
            "peak_rss_largest_vs_smallest": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
            "peak_rss_largest_vs_baseline": round(large["peak_rss_mb"] / base, 3),
            "peak_rss_growth_mb_largest_vs_smallest": round(
                large["peak_rss_mb"] - small["peak_rss_mb"], 1
            ),
            "peak_rss_over_file_largest": large["rss_over_file"],
            "time_per_item_largest_vs_smallest": round(
                large["us_per_item"] / small["us_per_item"], 3
            ),
        }
        key = "us_per_item_to_last_landing_line"
        if key in small and key in large:
            report["ratios"]["read_and_extract_time_per_item_largest_vs_smallest"] = round(
                large[key] / small[key], 3
            )
        if args.compare:
            report["compare"] = {"code_root": str(args.compare), "imports": []}
            for n in sorted(int(x) for x in args.compare_sizes.split(",") if x):
                if n not in files:
                    continue
                before = one(n, args.compare.resolve(), "compare")
                after = next(r for r in report["imports"] if r["items"] == n)
                report["compare"]["imports"].append(
                    {
                        **before,
                        "peak_rss_this_vs_compare": round(
                            after["peak_rss_mb"] / before["peak_rss_mb"], 3
                        ),
                        "seconds_this_vs_compare": round(after["seconds"] / before["seconds"], 3),
                    }
                )
    finally:
        if args.keep:
            print(f"files kept in {work}", file=sys.stderr)
        else:
            import shutil

            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
