"""`outreach demo`: generate demo data, load it, build every model, print a summary."""

from __future__ import annotations

import re
import time
from pathlib import Path

from app.dagster_report import report_load
from outreach.settings import load_settings

PUBLISHED_SCHEMAS = ("company", "people", "marketing", "bit")


def _step(n: int, total: int, text: str) -> float:
    print(f"[{n}/{total}] {text}", flush=True)
    return time.monotonic()


DEMO_SCHEMA = "outreach_demo"  # its table `runs` marks a warehouse the demo filled from empty


def _user_schemas(conn) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "select nspname from pg_namespace where nspname not like 'pg\\_%'"
            " and nspname not in ('information_schema', 'public') order by 1"
        )
    ]


def prepare_demo_warehouse(url: str) -> str:
    """Make a rerun tell the same story as the first run.

    A warehouse the demo filled from empty (marked by ``outreach_demo.runs``) is reset: its
    schemas are dropped and its dlt working dirs removed, so dates, queues, refresh jobs and
    KPI windows start over from today. An empty warehouse is marked. A warehouse holding
    anything else is left as it is (the demo then adds to it, and says so).
    """
    import shutil

    import psycopg
    from psycopg import sql

    from outreach.dlt_pipelines import pipelines_dir_for

    with psycopg.connect(url, autocommit=True) as conn:
        schemas = _user_schemas(conn)
        marked = conn.execute("select to_regclass(%s)", (f"{DEMO_SCHEMA}.runs",)).fetchone()[0]
        if schemas and not marked:
            return "warehouse holds other data: the demo adds to it (a rerun will differ)"
        for schema in schemas:
            conn.execute(sql.SQL("drop schema {} cascade").format(sql.Identifier(schema)))
        shutil.rmtree(pipelines_dir_for(url), ignore_errors=True)
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(DEMO_SCHEMA)))
        conn.execute(
            sql.SQL("create table {}.runs (started_at timestamptz not null default now())").format(
                sql.Identifier(DEMO_SCHEMA)
            )
        )
        conn.execute(
            sql.SQL("insert into {}.runs default values").format(sql.Identifier(DEMO_SCHEMA))
        )
    if marked:
        return f"reset the previous demo's data ({len(schemas)} schemas): this run starts over"
    return "empty warehouse: marked as the demo's, so a rerun starts over"


def published_counts(url: str) -> list[tuple[str, str, int]]:
    """(schema, object, rows) for every table and view in the published schemas."""
    import psycopg
    from psycopg import sql

    out = []
    with psycopg.connect(url) as conn:
        objects = conn.execute(
            """
            select table_schema, table_name from information_schema.tables
            where table_schema = any(%s) order by table_schema, table_name
            """,
            (list(PUBLISHED_SCHEMAS),),
        ).fetchall()
        for schema, name in objects:
            n = conn.execute(
                sql.SQL("select count(*) from {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(name)
                )
            ).fetchone()[0]
            out.append((schema, name, n))
    return out


def quarantine_counts(url: str) -> list[tuple[str, str, int]]:
    import psycopg

    with psycopg.connect(url) as conn:
        exists = conn.execute("select to_regclass('raw_intake.quarantine')").fetchone()[0]
        if not exists:
            return []
        return conn.execute(
            "select entity, reason, count(*) from raw_intake.quarantine group by 1, 2 order by 1, 2"
        ).fetchall()


def _dbt_build(args: list[str], url: str, started: float) -> bool:
    """Run a dbt build step; print its result line, or its output when it fails."""
    import sys

    from app.dbt import run_dbt
    from outreach.progress import ProgressLine

    line = ProgressLine(sys.stdout, prefix="      ")  # "dbt 120/567 int_person_keys (14 s)"
    proc = run_dbt(args, url=url, check=False, capture=True, progress=line)
    done = [line for line in proc.stdout.splitlines() if re.search(r"Done\. PASS=", line)]
    if proc.returncode != 0:
        print(proc.stdout[-8000:])
        print(proc.stderr[-4000:])
        print("error: dbt build failed (output above)")
        return False
    result = done[-1].split("Done. ", 1)[-1] if done else "ok"
    print(f"      {result} ({time.monotonic() - started:.1f}s)")
    return True


def verification_lines(url: str) -> list[str]:
    """Queue sizes, email statuses and campaign-ready companies, for the demo summary."""
    import psycopg

    queries = [
        ("emails due for a check", "select count(*) from people.due_email_recheck_30d"),
        ("profiles due for a refresh", "select count(*) from people.next_profile_urls_30d"),
        ("company URLs due for a check", "select count(*) from company.next_company_urls_30d"),
        ("renewal windows open today", "select count(*) from company.vw_due_renewals_ready"),
        (
            "campaign-ready companies (window open, green contact)",
            "select count(*) from company.vw_due_renewals_ready where has_green_contact",
        ),
    ]
    lines = []
    with psycopg.connect(url) as conn:
        for label, query in queries:
            lines.append(f"  {label:<56} {conn.execute(query).fetchone()[0]:>6,}")
        statuses = conn.execute(
            "select email_status, count(*) from people.contact_verification group by 1 "
            "order by array_position(array['green', 'yellow', 'red', 'gray'], email_status)"
        ).fetchall()
    lines.append(
        "  contact emails by status: " + ", ".join(f"{status} {n:,}" for status, n in statuses)
    )
    return lines


def run_demo(
    *, companies: int = 200, people: int = 1200, seed: int = 42, out_dir: Path | None = None
) -> int:
    from app.demo_data import generate
    from loaders.intake.run import load_intake_files
    from loaders.millionverifier.run import verify_emails
    from outreach.warehouse import database_url, mask_url_password
    from testing.millionverifier import MillionVerifierTestServer

    started = time.monotonic()
    settings = load_settings()
    total = 12
    t = _step(1, total, "warehouse")
    url = database_url(settings)
    where = "embedded PostgreSQL" if settings.embedded else "OUTREACH_DATABASE_URL"
    print(f"      {where}: {mask_url_password(url)}")
    print(f"      {prepare_demo_warehouse(url)} ({time.monotonic() - t:.1f}s)")

    t = _step(2, total, f"demo data: {companies} companies, {people} people (seed {seed})")
    out_dir = out_dir or settings.state_dir / "demo"
    files = generate(out_dir, companies=companies, people=people, seed=seed)
    print(f"      wrote {files.companies} and {files.people} ({time.monotonic() - t:.1f}s)")

    t = _step(3, total, "load intake files (dlt → raw_intake)")
    summary = load_intake_files(
        files.companies, files.people, progress=lambda s: print(f"      {s}"), database_url=url
    )
    report_load("intake", url, summary)  # the demo's history in Dagster too
    print("      " + summary.render().replace("\n", "\n      "))
    print(f"      ({time.monotonic() - t:.1f}s)")

    t = _step(4, total, "dbt build (seeds, models, tests)")
    # signals wait for step 6, so the first renewal signals name the verified contacts
    if not _dbt_build(["build", "--exclude", "int_signal_keys+"], url, t):
        return 1

    t = _step(5, total, "verify the due emails (MillionVerifier test-mode server → raw_verifier)")
    with MillionVerifierTestServer() as server:
        verified = verify_emails(
            database_url=url,
            base_url=server.base_url,
            api_key=server.config.api_key,
            progress=lambda s: print(f"      {s}"),
        )
    report_load("millionverifier", url, verified)  # the demo's history in Dagster too
    print("      " + verified.render().replace("\n", "\n      "))
    print(f"      ({time.monotonic() - t:.1f}s)")

    t = _step(6, total, "dbt build of what the checks change (statuses, slots, queues, signals)")
    if not _dbt_build(["build", "--select", "source:millionverifier+", "int_signal_keys+"], url, t):
        return 1

    t = _step(7, total, "LinkedIn refresh: baseline and one month later (Apify test-mode server)")
    from app.demo_refresh import refresh_summary_lines, run_refresh_demo

    if not run_refresh_demo(url, progress=lambda s: print(f"      {s}")):
        return 1
    print(f"      ({time.monotonic() - t:.1f}s)")

    t = _step(8, total, "dbt build of change detection (people intelligence, audit log, signals)")
    if not _dbt_build(["build", "--select", "source:apify+"], url, t):
        return 1

    t = _step(9, total, "LinkedIn Ads: load, KPIs, and the alert right after the next day's load")
    from app.demo_ads import run_ads_demo

    ads_lines = run_ads_demo(url, progress=lambda s: print(f"      {s}"))
    if ads_lines is None:
        return 1
    print(f"      ({time.monotonic() - t:.1f}s)")

    t = _step(10, total, "renewal campaign: members, sends, provider events, funnel")
    from app.demo_campaign import run_campaign_demo

    funnel = run_campaign_demo(url, progress=lambda s: print(f"      {s}"))
    print(f"      ({time.monotonic() - t:.1f}s)")

    t = _step(
        11, total, "OpenOutreach: crm.db → raw_openoutreach, connection funnel, connect queue"
    )
    from app.demo_openoutreach import run_openoutreach_demo

    funnel_lines = run_openoutreach_demo(
        url,
        out_dir,
        build=lambda args: _dbt_build(args, url, time.monotonic()),
        progress=lambda s: print(f"      {s}"),
    )
    if funnel_lines is None:
        return 1
    print(f"      ({time.monotonic() - t:.1f}s)")

    t = _step(12, total, "company pages: websites, news and LinkedIn pages; the queue drains")
    from app.demo_company_pages import run_company_pages_demo

    company_lines = run_company_pages_demo(
        url,
        build=lambda args: _dbt_build(args, url, time.monotonic()),
        progress=lambda s: print(f"      {s}"),
    )
    if company_lines is None:
        return 1
    print(f"      ({time.monotonic() - t:.1f}s)")

    print("\nPublished objects")
    for schema, name, n in published_counts(url):
        print(f"  {schema + '.' + name:<40} {n:>8,} rows")
    print("\nWork queues and renewals (as of today)")
    for line in verification_lines(url):
        print(line)
    print("\nLinkedIn refresh jobs and detected changes")
    for line in refresh_summary_lines(url):
        print(f"  {line}")
    print("\nLinkedIn Ads KPIs and alerts")
    for line in ads_lines:
        print(f"  {line}")
    print("\nRenewal campaign funnel (marketing.engagement_events, people, not machine opens)")
    for line in funnel or []:
        print(f"  {line}")
    print("\nPipeline events and ops alerts (marketing.pipeline_events, marketing.ops_alerts)")
    for line in ops_summary_lines(url):
        print(f"  {line}")
    print(
        "\nLinkedIn connection funnel (OpenOutreach, last weeks) and the top of the connect queue"
    )
    for line in funnel_lines:
        print(f"  {line}")
    print("\nCompany pages (company.website_health, bit.signal)")
    for line in company_lines:
        print(f"  {line}")
    q = quarantine_counts(url)
    if q:
        print("\nQuarantined intake rows (raw_intake.quarantine)")
        for entity, reason, n in q:
            print(f"  {entity:<8} {reason:<28} {n:>6}")
    print(
        f"""
Done in {time.monotonic() - started:.0f}s. Next:
  outreach db psql                 # psql on the warehouse, e.g. select * from company.company limit 5;
  outreach db url                  # {mask_url_password(url)}  (give this to a BI tool)
  outreach ui                      # Dagster UI on http://127.0.0.1:3000
  eval "$(outreach env)" && dbt ls # plain dbt against the same warehouse"""
    )
    return 0


def ops_summary_lines(url: str) -> list[str]:
    """Events per type and status, open errors, and the ops alerts of the latest build."""
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            events = conn.execute(
                "select event_type, status, count(*) from marketing.pipeline_events"
                " group by 1, 2 order by 1, 2"
            ).fetchall()
            open_errors = conn.execute(
                "select count(*) from marketing.vw_unresolved_errors"
            ).fetchone()[0]
            alerts = conn.execute(
                "select severity, metric, subject, round(observed_value, 4), threshold"
                " from marketing.ops_alerts order by detected_at desc, severity, metric"
            ).fetchall()
    except psycopg.Error as exc:
        return [f"(not built: {exc.diag.message_primary})"]
    lines = [f"{t:<24} {s:<10} {n:>6}" for t, s, n in events]
    lines.append(f"unresolved errors: {open_errors} (outreach ops errors)")
    lines += [
        f"ops alert {sev}: {m} of {subj} = {v} (limit {th})" for sev, m, subj, v, th in alerts
    ]
    return lines or ["no pipeline events yet"]
