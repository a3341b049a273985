"""Benchmark: load 1 year x 500 campaigns of LinkedIn Ads daily rows, beside a psycopg COPY
of the same rows.

    .venv/bin/python benchmarks/bench_ads_load.py [--campaigns 500] [--days 366] [--keep]

Runs in a fresh database on the warehouse server (embedded, or OUTREACH_DATABASE_URL's
server) and prints one JSON document:

- ``backfill``: ``load_linkedin_ads(start_date=today - days + 1)`` against the test-mode
  server running in its own process (dense data: every campaign has a row every day), so
  the figure includes HTTP (Rest.li requests in windows under the 15,000-element cap),
  JSON parsing, exact decimal costs into arrow, the new/restated counts in SQL and the
  dlt load (merge on (campaign_id, date)), with each step's seconds and rows/s;
- ``incremental``: the next load (the 7-day lookback re-pulled, nothing changed);
- ``restated``: a load after the server restated one day of every campaign;
- ``copy``: the very same rows with psycopg ``COPY`` into a table shaped like
  raw_linkedin_ads.campaign_analytics, in the same database and the same run (the floor).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ACCOUNT = "520000001"


def _with_db(url: str, dbname: str) -> str:
    return urlsplit(url)._replace(path=f"/{dbname}").geturl()


def _server(campaigns: int, days: int, today) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "testing.linkedin_ads",
            "--accounts",
            ACCOUNT,
            "--campaigns",
            str(campaigns),
            "--history-days",
            str(days),
            "--today",
            today.isoformat(),
            "--dense",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, proc.stdout.readline().strip()


def _copy_baseline(url: str, table) -> dict:
    import psycopg

    columns = table.column_names
    rows = list(zip(*(table.column(c).to_pylist() for c in columns), strict=True))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "create table bench_copy (account_id text, campaign_id text not null, date date not null, "
            "impressions bigint, clicks bigint, cost_in_local_currency numeric(38, 20), "
            "external_website_conversions bigint, _pull_id text, _loaded_at timestamptz, "
            "primary key (campaign_id, date))"
        )
        t0 = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"copy bench_copy ({', '.join(columns)}) from stdin") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        seconds = time.perf_counter() - t0
    return {
        "rows": len(rows),
        "seconds": round(seconds, 3),
        "rows_per_s": round(len(rows) / seconds),
    }


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--campaigns", type=int, default=500)
    p.add_argument("--days", type=int, default=366)
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = p.parse_args()

    import psycopg

    from loaders.linkedin_ads.helpers import HttpSettings
    from loaders.linkedin_ads.run import load_linkedin_ads
    from outreach.settings import load_settings
    from outreach.warehouse import database_url

    today = datetime.now(UTC).date()
    server_url = database_url(load_settings())
    name = f"bench_ads_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _with_db(server_url, name)
    os.environ["OUTREACH_DATABASE_URL"] = url
    proc, base = _server(args.campaigns, args.days, today)
    out: dict = {"campaigns": args.campaigns, "days": args.days, "machine_cpus": os.cpu_count()}
    try:
        from loaders.linkedin_ads.settings import TEST_MODE_TOKEN

        def load(**kw):
            t0 = time.perf_counter()
            summary = load_linkedin_ads(
                database_url=url,
                accounts=[ACCOUNT],
                endpoint=(base, TEST_MODE_TOKEN),
                http=HttpSettings(max_attempts=3, backoff_factor=0.01, max_delay_s=0.05),
                progress=lambda _m: None,
                trigger="benchmark",
                **kw,
            )
            seconds = time.perf_counter() - t0
            rows = summary.total("rows")
            return {
                "rows_fetched": rows,
                "rows_written": summary.written,
                "http_requests": summary.http["requests"],
                "seconds": round(seconds, 3),
                "rows_per_s": round(rows / seconds) if seconds else None,
            }

        out["backfill"] = load(start_date=today - timedelta(days=args.days - 1))
        out["incremental"] = load()
        subprocess.run(  # restate yesterday for every campaign (numbers change)
            [
                sys.executable,
                "-c",
                "import httpx,sys; httpx.post(sys.argv[1] + '/_test/config', json={'restate': "
                "[{'campaign_id': str(100_000_000 + (int(sys.argv[2]) % 90_000) * 1000 + j + 1), "
                "'date': sys.argv[3], 'clicks': 1} for j in range(int(sys.argv[4]))]})",
                base,
                ACCOUNT,
                (today - timedelta(days=1)).isoformat(),
                str(args.campaigns),
            ],
            check=True,
        )
        out["restated"] = load()
        import pyarrow as pa

        from loaders.linkedin_ads import with_load_columns
        from loaders.linkedin_ads.helpers import LinkedInAdsClient

        client = LinkedInAdsClient(base, TEST_MODE_TOKEN)
        start = today - timedelta(days=args.days - 1)
        pages = client.daily_campaign_analytics(ACCOUNT, start, today, campaigns=args.campaigns)
        rows = pa.concat_tables(table for table, _rounded in pages)
        table = with_load_columns(rows, "bench", datetime.now(UTC))
        out["copy"] = _copy_baseline(url, table)
        out["backfill_vs_copy"] = round(out["backfill"]["seconds"] / out["copy"]["seconds"], 1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if not args.keep:
            with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
            import shutil

            for folder in (load_settings().state_dir / "dlt").glob(f"{name}-*"):
                shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
