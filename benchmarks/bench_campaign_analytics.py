"""Benchmark: campaign analytics (issue 20) over N engagement events: a full build and an
incremental build after 1 % new events, against a bare GROUP BY over the same rows.

    .venv/bin/python benchmarks/bench_campaign_analytics.py [--events 10000000] [--keep]

1. a fresh database on the warehouse server (embedded unless OUTREACH_DATABASE_URL), the
   raw tables, 20 campaigns, and ``events`` SendGrid-shaped email events generated in SQL
   (5 events per send: processed, delivered, machine or human open, click; 2 variants x
   2 steps), received on 2026-11-01 (received_at in the past, as a live receiver would have
   stored them), not timed;
2. ``baseline``: ``create table ... as select campaign, event, count(*) ... group by`` over
   the raw events (the bare GROUP BY a dashboard would run), timed by the client;
3. ``full``: ``dbt run --full-refresh`` of int_campaign_sends, int_campaign_sends_attributed
   and campaign_performance (plus the A/B models); the time is the sum of the models'
   execution times in dbt's run_results.json (dbt's ~5 s start-up is reported apart);
4. ``incremental``: 1 % new events received now (new sends, and late events of existing
   sends), then ``dbt run`` of the same models without --full-refresh;
5. ``equal``: campaign_performance after the incremental build against a full refresh.

Prints one JSON document: seconds of each, full / baseline (goal <= 3) and incremental /
full (goal < 0.10), equal, and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = "int_campaign_sends int_campaign_sends_attributed campaign_performance"
INSERT = """
insert into raw_events.email_events
    (event_key, provider, event_type, email, occurred_at, message_id, payload, received_at)
select
    'sendgrid:' || %(tag)s || ':' || i,
    'sendgrid',
    kind,
    'r' || (send %% 200000) || '@bench.test',
    timestamptz '2026-11-01' + (send %% 86400) * interval '1 second',
    'msg' || send,
    jsonb_build_object(
        'campaign_id', (send %% 20 + 1)::text,
        'step', (send / 20 %% 2 + 1)::text,
        'variant', case when send %% 2 = 0 then 'A' else 'B' end,
        'sg_machine_open', kind = 'open' and i %% 3 = 0,
        'useragent', 'Mozilla/5.0'
    ),
    -- the history arrived on 2026-11-01 (each event a few seconds after it happened); the
    -- new events arrive now
    case
        when %(history)s then timestamptz '2026-11-01' + (send %% 86400 + i %% 5) * interval '1 second'
        else clock_timestamp()
    end
from (
    select
        i,
        cast(%(send_base)s as bigint) + i / 5 as send,
        (array['processed', 'delivered', 'open', 'open', 'click'])[i %% 5 + 1] as kind
    from generate_series(cast(%(start)s as bigint), cast(%(stop)s as bigint)) as i
) as g
"""


def _model_seconds(target: Path, out: dict, label: str) -> float:
    results = json.loads((target / "run_results.json").read_text())["results"]
    out[f"{label}_models_s"] = {
        r["unique_id"].split(".")[-1]: round(r["execution_time"], 3) for r in results
    }
    return round(sum(r["execution_time"] for r in results), 3)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=10_000_000, help="engagement events (default 10M)")
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = p.parse_args(argv)

    import psycopg

    from app.dbt import ensure_raw_tables, run_dbt
    from outreach.warehouse import database_url

    server = database_url()
    name = f"bench_analytics_{uuid.uuid4().hex[:8]}"
    admin = urlsplit(server)._replace(path="/postgres").geturl()
    url = urlsplit(server)._replace(path=f"/{name}").geturl()
    target = Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    os.environ["DBT_TARGET_PATH"] = str(target / "target")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    out: dict = {"events": args.events}

    def dbt(cmd: list[str], label: str = "setup") -> float:
        started = time.perf_counter()
        proc = run_dbt(cmd, url=url, check=False, capture=True)
        if proc.returncode != 0:
            raise SystemExit(proc.stdout[-4000:])
        out.setdefault("dbt_wall_s", []).append(round(time.perf_counter() - started, 2))
        return _model_seconds(target / "target", out, label)

    try:
        ensure_raw_tables(url)
        with psycopg.connect(url, autocommit=True) as conn:
            for c in range(20):
                conn.execute(
                    "insert into raw_campaigns.campaigns (name, source) values (%s, 'bench')",
                    (f"bench {c + 1}",),
                )
            t = time.perf_counter()
            conn.execute(
                INSERT,
                {"tag": "a", "send_base": 0, "start": 0, "stop": args.events - 1, "history": True},
            )
            conn.execute("analyze raw_events.email_events")
            out["generate_s"] = round(time.perf_counter() - t, 1)
        # the upstream views and tables (empty intake) once, untimed
        dbt(["run", "--select", "+campaign_performance", "--exclude", *MODELS.split()])

        with psycopg.connect(url, autocommit=True) as conn:
            t = time.perf_counter()
            conn.execute(
                "create table public.bare_group_by as select payload->>'campaign_id' as campaign,"
                " payload->>'variant' as variant, event_type, count(*) as events,"
                " count(distinct message_id) as sends from raw_events.email_events group by 1, 2, 3"
            )
            out["baseline_s"] = round(time.perf_counter() - t, 3)
        out["full_s"] = dbt(["run", "--select", MODELS, "--full-refresh"], "full")

        new = max(1, args.events // 100)
        with psycopg.connect(url, autocommit=True) as conn:
            # half: late events of existing sends; half: new sends
            conn.execute(
                INSERT,
                {"tag": "b", "send_base": 0, "start": 0, "stop": new // 2 - 1, "history": False},
            )
            conn.execute(
                INSERT,
                {
                    "tag": "c",
                    "send_base": args.events // 5 + 1,
                    "start": 0,
                    "stop": new - new // 2 - 1,
                    "history": False,
                },
            )
        out["new_events"] = new
        out["incremental_s"] = dbt(["run", "--select", MODELS], "incremental")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "create table public.after_incremental as select * from marketing.campaign_performance"
            )
        dbt(["run", "--select", MODELS, "--full-refresh"], "check")
        with psycopg.connect(url) as conn:
            (diff,) = conn.execute(
                "select count(*) from ((select * from public.after_incremental except all"
                " select * from marketing.campaign_performance) union all"
                " (select * from marketing.campaign_performance except all"
                " select * from public.after_incremental)) d"
            ).fetchone()
        out["equal"] = diff == 0
        out["full_over_baseline"] = round(out["full_s"] / out["baseline_s"], 2)
        out["incremental_over_full"] = round(out["incremental_s"] / out["full_s"], 3)
        out["loadavg"] = os.getloadavg()
    finally:
        if not args.keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
