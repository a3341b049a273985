"""Benchmark: what re-creating dependent views in the backup's drop costs a build.

    .venv/bin/python benchmarks/bench_dependent_views.py [--repeats 1]

Two copies of the dbt project on fresh databases of the warehouse server
(OUTREACH_DATABASE_URL, else the embedded one), in the same run:

- ``dbt_drop``: without ``macros/published/`` — dbt's own ``drop ... cascade``;
- ``preserve``: the project as it is (docs/decisions.md, "Dependent views survive a rebuild").

Each runs a full build on an empty database (nothing to drop), a second full build (every
table and view replaced), then the partial builds the issue reports. Per step: wall time,
the summed model time dbt reports (run_results.json), the exit code, and how many of the
project's relations are missing afterwards. Prints one JSON document with the ratios
``preserve / dbt_drop``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.dbt import run_dbt  # noqa: E402
from outreach.published import built_relations, load_manifest  # noqa: E402
from outreach.settings import DBT_PROJECT_DIR, PROJECT_ROOT  # noqa: E402
from outreach.warehouse import database_url  # noqa: E402

STEPS = [
    ("full_build_empty", []),
    ("full_build_rebuild", []),
    ("partial_kpi_alert_notifications", ["-s", "kpi_alert_notifications"]),
    ("partial_marts_company", ["-s", "marts.company"]),
    ("partial_int_company_renewals", ["-s", "int_company_renewals"]),
]


def with_db(url: str, name: str) -> str:
    return urlsplit(url)._replace(path=f"/{name}").geturl()


def project_copy(workdir: Path, variant: str) -> Path:
    """A copy of dbt_project/ (seeds beside it, as ``seed-paths: ../seeds`` expects)."""
    root = workdir / variant
    shutil.copytree(
        DBT_PROJECT_DIR, root / "dbt_project", ignore=shutil.ignore_patterns("target", "logs")
    )
    (root / "seeds").symlink_to(PROJECT_ROOT / "seeds")
    if variant == "dbt_drop":
        shutil.rmtree(root / "dbt_project" / "macros" / "published")
    return root / "dbt_project"


def missing(url: str, manifest: dict) -> list[str]:
    with psycopg.connect(url) as conn:
        return [
            str(r)
            for r in built_relations(manifest)
            if conn.execute("select to_regclass(%s)", (f'"{r.schema}"."{r.name}"',)).fetchone()[0]
            is None
        ]


def run_variant(server: str, workdir: Path, variant: str) -> dict:
    project = project_copy(workdir, variant)
    target = project / "target"
    name = f"bench_views_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(with_db(server, "postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = with_db(server, name)
    out = {}
    try:
        # parse once first: the steps then measure builds, not the first parse
        run_dbt(["parse", "--quiet", "--project-dir", str(project)], url=url, capture=True)
        for step, selection in STEPS:
            args = ["build", "--quiet", "--project-dir", str(project), *selection]
            started = time.perf_counter()
            done = run_dbt(args, url=url, check=False, capture=True)
            wall = time.perf_counter() - started
            results = json.loads((target / "run_results.json").read_text())["results"]
            out[step] = {
                "exit_code": done.returncode,
                "wall_s": round(wall, 2),
                "model_s": round(
                    sum(
                        r["execution_time"] for r in results if r["unique_id"].startswith("model.")
                    ),
                    2,
                ),
                "missing_relations": missing(url, load_manifest(target / "manifest.json")),
            }
    finally:
        with psycopg.connect(with_db(server, "postgres"), autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    server = database_url()
    runs: dict[str, list[dict]] = {"dbt_drop": [], "preserve": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for variant in runs:  # alternate, so drift hits both alike
                runs[variant].append(run_variant(server, Path(tmp) / str(repeat), variant))

    def best(variant: str, step: str, key: str) -> float:
        return min(r[step][key] for r in runs[variant])

    ratios = {
        step: {
            key: round(best("preserve", step, key) / max(best("dbt_drop", step, key), 1e-9), 3)
            for key in ("wall_s", "model_s")
        }
        for step, _ in STEPS
    }
    print(json.dumps({"runs": runs, "ratio_preserve_over_dbt_drop": ratios}, indent=2))


if __name__ == "__main__":
    main()
