"""Benchmark: OpenOutreach leads -> raw_openoutreach -> funnel marts -> connect queue.

    .venv/bin/python benchmarks/bench_openoutreach.py [--leads 50000] [--bootstrap 10] [--keep]
    .venv/bin/python benchmarks/bench_openoutreach.py --leads 1000000   # the 1M-lead run

In a scratch database on the warehouse server (OUTREACH_DATABASE_URL, or the embedded
one), prints one JSON document with the seconds of each step:

- ``generate``: writing the crm.db (testing/openoutreach_crm.py, not part of the product);
- ``load_first`` / ``load_again``: ``load_crm`` of all rows, then of the same file again
  (incremental: only the boundary rows are read);
- ``baseline_scan``: one full read of the raw tables in SQL (every lead's JSON and every
  deal's history), the floor any model over them pays, measured in the same run;
- ``mart_build``: the dbt build (models + their tests) of the OpenOutreach staging,
  intermediate and funnel marts, its ratio to the baseline scan;
- ``scorer``: train (evaluation model + bootstrap members) and score seconds, rows.
The people graph the profile context joins is built first (untimed) and is empty here.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = ["staging.openoutreach", "intermediate.linkedin_funnel", "marts.marketing.linkedin_funnel",
          "openoutreach_allowed_transitions"]  # fmt: skip


def _with_db(url: str, name: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--leads", type=int, default=50_000, help="leads in the crm.db (1000000: 1M)")
    p.add_argument("--bootstrap", type=int, default=10, help="bootstrap models of the scorer")
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = p.parse_args(argv)

    import psycopg

    from app.dbt import run_dbt
    from loaders.openoutreach.run import load_crm
    from orchestration.connect_scorer import score_connect_queue
    from outreach.warehouse import database_url, mask_url_password
    from testing.openoutreach_crm import CrmSpec, generate_crm

    server = database_url()
    name = f"bench_oo_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_with_db(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _with_db(server, name)
    report: dict = {"database": mask_url_password(url), "leads": args.leads}
    vars_ = "{as_of: '2026-04-27'}"

    def dbt(*a: str) -> float:
        t = time.perf_counter()
        proc = run_dbt(["build", *a, "--vars", vars_], url=url, check=False, capture=True)
        if proc.returncode != 0:
            raise RuntimeError(proc.stdout[-3000:])
        return round(time.perf_counter() - t, 1)

    def step(label: str, fn):
        print(f"{label}…", file=sys.stderr, flush=True)
        t = time.perf_counter()
        out = fn()
        report[label] = round(time.perf_counter() - t, 1)
        return out

    try:
        with tempfile.TemporaryDirectory() as tmp:
            crm = Path(tmp) / "crm.db"
            spec = CrmSpec(leads=args.leads, weeks=16)
            step("generate_seconds", lambda: generate_crm(crm, spec))
            first = step("load_first_seconds", lambda: load_crm(crm, "bench", database_url=url))
            again = step("load_again_seconds", lambda: load_crm(crm, "bench", database_url=url))
            report["rows_read"] = {"first": first.rows, "again": again.rows}
            report["load_rows_per_second"] = round(
                sum(first.rows.values()) / report["load_first_seconds"]
            )
            report["parents_build_seconds"] = dbt(
                "--select", "+int_connection_profile_context,resource_type:model",
                "+int_connection_profile_context,resource_type:seed", "--exclude", "staging.openoutreach",
                "int_connection_profile_context", "--indirect-selection", "cautious",
            )  # fmt: skip
            with psycopg.connect(url) as conn:
                t = time.perf_counter()
                conn.execute(
                    "select sum(length(description)), count(distinct website)"
                    " from raw_openoutreach.crm_lead"
                ).fetchone()
                conn.execute(
                    "select sum(array_length(string_to_array(stages_dates, chr(10)), 1))"
                    " from raw_openoutreach.crm_deal"
                ).fetchone()
                report["baseline_scan_seconds"] = round(time.perf_counter() - t, 2)
            report["mart_build_seconds"] = dbt(
                "--select", *MODELS, "--indirect-selection", "cautious"
            )
            report["mart_build_vs_baseline_scan"] = round(
                report["mart_build_seconds"] / max(report["baseline_scan_seconds"], 0.01), 1
            )
            result = score_connect_queue(url, seed=0, n_bootstrap=args.bootstrap)
            report["scorer"] = {
                "rows_labelled": result.rows_labelled,
                "candidates": result.candidates,
                "bootstrap_models": args.bootstrap,
                "train_seconds": round(result.train_seconds, 1),
                "score_seconds": round(result.score_seconds, 1),
                "roc_auc": result.metrics.get("roc_auc"),
                "keyword_roc_auc": result.metrics.get("keyword_roc_auc"),
            }
    finally:
        if not args.keep:
            with psycopg.connect(_with_db(server, "postgres"), autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
