"""The demo's OpenOutreach step: a generated crm.db (testing/openoutreach_crm.py) loaded
through ``outreach load openoutreach``'s entry point, the funnel models built, the connect
queue scored; returns the lines the demo prints (None when the dbt build failed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

DEMO_LEADS = 1000


def run_openoutreach_demo(
    url: str, out_dir: Path, build: Callable[[list[str]], bool], progress: Callable[[str], Any]
) -> list[str] | None:
    import psycopg

    from app.dagster_report import report_load
    from loaders.openoutreach.run import load_crm
    from orchestration.connect_scorer import score_connect_queue
    from testing.openoutreach_crm import CrmSpec, generate_crm

    crm = out_dir / "openoutreach_crm.db"
    out_dir.mkdir(parents=True, exist_ok=True)
    start = date.today() - timedelta(weeks=12)
    counts = generate_crm(crm, CrmSpec(leads=DEMO_LEADS, start=start, weeks=12, slug_prefix="demo"))
    progress(f"generated {crm} ({counts['leads']} leads)")
    summary = load_crm(crm, "demo", database_url=url, progress=progress)
    report_load("openoutreach", url, summary)
    if not build(["build", "--select", "source:openoutreach+", "openoutreach_allowed_transitions"]):
        return None
    t = time.monotonic()
    result = score_connect_queue(url, seed=42, n_bootstrap=5, progress=progress)
    progress(f"scored in {time.monotonic() - t:.1f}s")
    lines = [
        "week        discovered enriched requests accepted acceptance (matured) p50 days",
    ]
    with psycopg.connect(url) as conn:
        for row in conn.execute(
            "select week_start, discovered, enriched, requests_sent, accepted, acceptance_rate,"
            " days_to_accept_p50 from marketing.linkedin_connection_funnel"
            " where account = 'demo' order by week_start desc limit 6"
        ).fetchall()[::-1]:
            rate = "-" if row[5] is None else f"{float(row[5]):.0%}"
            p50 = "-" if row[6] is None else f"{float(row[6]):g}"
            lines.append(
                f"{row[0]}  {row[1]:>10} {row[2]:>8} {row[3]:>8} {row[4]:>8} {rate:>21} {p50:>8}"
            )
        lines.append(
            f"connect queue ({result.method}, {result.model_version}): held-out ROC-AUC "
            f"{result.metrics.get('roc_auc')} vs keyword baseline {result.metrics.get('keyword_roc_auc')}"
        )
        for rank, profile, score, reason in conn.execute(
            "select rank, profile, score, reason from marketing.connect_queue"
            " where account = 'demo' order by rank limit 5"
        ):
            lines.append(f"  {rank:>2}. {profile}  p={score:.2f}  {reason}")
    return lines
