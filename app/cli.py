"""The ``outreach`` command: one front door to the warehouse.

Heavy libraries (dbt, dagster, dlt) are imported inside the subcommands that need them so
that ``outreach --help`` and ``outreach db url`` stay instant.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

from outreach.settings import PROJECT_ROOT, load_settings


def _fail(message: str, code: int = 1) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _fail_with(exc: BaseException) -> int:
    """A step's error: exit 2 for an operator mistake (missing file, unset key), else 1."""
    from outreach.events import OperatorError

    return _fail(str(exc), EXIT_USAGE if isinstance(exc, OperatorError) else 1)


# exit codes every command shares (documented in the epilog and the README)
EXIT_USAGE = 2  # bad arguments or configuration: a missing file, an unset key or secret
EXIT_UNREACHABLE = 5  # the warehouse database cannot be reached or refused the login
EXIT_BUSY = 6  # another load of the same source is still running after the wait

EPILOG = """exit codes: 0 done; 1 failed (the message says why); 2 bad arguments or
configuration: a missing file, an unset API key, a webhook URL without its secret (or, for
load linkedin-ads, the access token was rejected): not recorded as a pipeline error;
3 and 4 as each command's help says;
5 the warehouse database cannot be reached or refused the login (wrong password);
6 another load of the same source is still running (waited OUTREACH_LOAD_LOCK_TIMEOUT_S,
default 600 s); 130 interrupted."""


def _unreachable_message(exc: BaseException) -> str:
    """One line naming the warehouse (user@host:port/db, never the password) and why."""
    from outreach.warehouse import url_parts

    url = load_settings().database_url
    if url:
        try:
            p = url_parts(url)
            where = f"postgresql://{p['user']}@{p['host']}:{p['port']}/{p['dbname']}"
            password = p["password"]
        except ValueError:
            where, password = "OUTREACH_DATABASE_URL", ""
    else:
        where, password = "the embedded server", ""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    reason = reason.removeprefix("connection failed: ")
    if password:
        reason = reason.replace(password, "***")
    if _is_login_refused(exc, reason):
        hint = (
            "check the password in OUTREACH_DATABASE_URL"
            if url
            else "its password is in .outreach/server.password; `outreach db url` prints the URL"
        )
        return f"the warehouse at {where} refused the login ({reason}): {hint}"
    return f"cannot reach the warehouse at {where} ({reason})"


def _is_login_refused(exc: BaseException, reason: str) -> bool:
    """A wrong or missing password (SQLSTATE 28P01, or libpq's message before any state)."""
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None) or ""
    return state.startswith("28") or any(
        text in reason for text in ("password authentication failed", "no password supplied")
    )


# ---------------------------------------------------------------------------- db
def cmd_db(args: argparse.Namespace) -> int:
    from outreach.embedded import EmbeddedError
    from outreach.warehouse import database_url, embedded_server, mask_url_password

    settings = load_settings()
    external = settings.database_url is not None
    try:
        if args.db_command == "url":
            print(database_url(settings))
        elif args.db_command == "start":
            if external:
                print(
                    f"using OUTREACH_DATABASE_URL ({mask_url_password(settings.database_url)}); nothing to start"
                )
            else:
                url = embedded_server(settings).start(quiet=False)
                print(
                    f"embedded PostgreSQL running: {mask_url_password(url)} (`outreach db url` shows the password)"
                )
        elif args.db_command == "stop":
            # the embedded server of this project (its .outreach folder), whatever
            # OUTREACH_DATABASE_URL says: `eval "$(outreach env)"` sets it to that server
            stopped = embedded_server(settings).stop()
            print("stopped" if stopped else "not running")
            if external and not stopped:
                print(
                    f"(OUTREACH_DATABASE_URL points at {mask_url_password(settings.database_url)}: "
                    "not ours to stop)"
                )
        elif args.db_command == "status":
            server = embedded_server(settings)
            st = server.status()
            embedded = {
                **st.as_dict(),
                **({"url": mask_url_password(server.url())} if st.running else {}),
            }
            if external:
                from outreach.warehouse import connect

                with connect(settings.database_url) as conn:
                    version = conn.execute("show server_version").fetchone()[0]
                info = {
                    "mode": "external",
                    "url": mask_url_password(settings.database_url),
                    "version": version,
                    "embedded": embedded,
                }
            else:
                info = {"mode": "embedded", **embedded}
            print(json.dumps(info, indent=2))
            return 0 if external or st.running else 3
        elif args.db_command == "grant-reader":
            return cmd_db_grant_reader(args, database_url(settings))
        elif args.db_command == "psql":
            url = database_url(settings)
            psql = _psql_binary()
            os.execv(psql, [psql, url, *args.psql_args])
    except EmbeddedError as exc:
        return _fail(str(exc))
    return 0


def cmd_db_grant_reader(args: argparse.Namespace, url: str) -> int:
    """Set up the read-only role outreach_reader and, with NAME, a login role in it."""
    import psycopg

    from outreach.security import SecurityError, create_login, grant_reader_role

    try:
        with psycopg.connect(url, autocommit=True) as conn:
            if args.name:
                done = create_login(conn, args.name, password_env=args.password_env)
            else:
                done = grant_reader_role(conn)
    except SecurityError as exc:
        return _fail(str(exc))
    except psycopg.Error as exc:
        return _fail(f"could not set up the reader role: {exc}")
    for line in done:
        print(line)
    return 0


def _psql_binary() -> str:
    from outreach.embedded import _bin_dir

    bundled = _bin_dir() / "psql"
    return str(bundled) if bundled.exists() else "psql"


# ---------------------------------------------------------------------------- env / dbt
def cmd_env(args: argparse.Namespace) -> int:
    from outreach.dbt import dbt_env
    from outreach.warehouse import database_url

    url = database_url()
    env = {"OUTREACH_DATABASE_URL": url, **dbt_env(url)}
    env["DAGSTER_HOME"] = str(_dagster_home())
    # the venv's bin first on PATH, so plain `dbt` and `dagster` are this project's (once:
    # evaluating it again does not grow PATH)
    venv_bin = str(Path(sys.executable).parent)
    rest = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and d != venv_bin]
    env["PATH"] = os.pathsep.join([venv_bin, *rest])
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def cmd_dbt(args: argparse.Namespace) -> int:
    from app.dbt import run_dbt
    from outreach.progress import ProgressLine

    # dbt's lines on stdout as usual; "dbt 12/80 model (9 s)" on stderr while it builds
    return run_dbt(args.dbt_args, check=False, progress=ProgressLine(sys.stderr)).returncode


def cmd_refresh(args: argparse.Namespace) -> int:
    """The monthly refresh build: the new Apify data's downstream plus what is stale
    (outreach/refresh.py; Dagster's monthly schedule plans the same way)."""
    from app.dbt import run_dbt
    from outreach.progress import ProgressLine
    from outreach.refresh import run_refresh
    from outreach.warehouse import database_url

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        _plan, done = run_refresh(
            database_url(),
            run_dbt,
            args.dbt_args,
            say=say,
            check=False,
            progress=ProgressLine(sys.stderr),
        )
    except ValueError as exc:  # a node selection of its own: the plan is the selection
        return _fail(str(exc), EXIT_USAGE)
    return done.returncode


def cmd_sqlfluff(args: argparse.Namespace) -> int:
    """sqlfluff lint of the dbt models with the dbt templater, against the warehouse."""
    from outreach.dbt import dbt_env

    env = {**os.environ, **dbt_env()}
    paths = args.paths or ["models"]
    # one process per core: the dbt templater compiles each file, which is CPU-bound
    processes = ["--processes", str(args.processes or os.cpu_count() or 1)]
    cmd = [sys.executable, "-m", "sqlfluff", args.action, *processes, *paths]
    return subprocess.run(
        cmd, env=env, cwd=str(PROJECT_ROOT / "dbt_project"), check=False
    ).returncode


# ---------------------------------------------------------------------------- load
def cmd_load(args: argparse.Namespace) -> int:
    if args.source == "intake":
        from loaders.intake.run import IntakeError, load_intake_files

        if not args.companies and not args.people and not args.deals:
            return _fail("give --companies FILE, --people FILE and/or --deals FILE", EXIT_USAGE)
        try:
            summary = load_intake_files(
                companies=Path(args.companies) if args.companies else None,
                people=Path(args.people) if args.people else None,
                deals=Path(args.deals) if args.deals else None,
                progress=_progress(args),
            )
        except IntakeError as exc:
            return _fail_with(exc)
        from app.dagster_report import report_load

        report_load("intake", None, summary)  # Dagster's history shows CLI loads too
        _print_summary(args, summary)
        return 0
    if args.source == "apify-linkedin":
        from app.dagster_report import report_load
        from loaders.apify_linkedin.run import run_cli

        return run_cli(
            from_file=args.from_file,
            observed_at=args.observed_at,
            all_profiles=args.all,
            max_profiles=args.max_profiles,
            actor_id=args.actor,
            timeout_s=args.timeout,
            progress=_progress(args),
            as_json=args.json,
            report=lambda result: report_load("apify_linkedin", None, result),
        )
    if args.source == "millionverifier":
        return cmd_load_millionverifier(args)
    if args.source == "linkedin-ads":
        return cmd_load_linkedin_ads(args)
    if args.source == "email-events":
        from loaders.email_events.events import EventFormatError
        from loaders.email_events.run import load_events_file
        from outreach.warehouse import database_url

        if not Path(args.from_file).is_file():
            return _fail(f"{args.from_file}: no such file", EXIT_USAGE)
        try:
            loaded = load_events_file(
                database_url(), args.from_file, args.format, progress=_progress(args)
            )
        except (EventFormatError, ValueError) as exc:
            return _fail(f"{args.from_file}: {exc}", EXIT_USAGE)
        _print_summary(args, loaded)
        return 4 if loaded.problems else 0
    if args.source == "openoutreach":
        return cmd_load_openoutreach(args)
    if args.source == "company-pages":
        return cmd_load_company_pages(args)
    return _fail(f"unknown source {args.source}")


def cmd_load_company_pages(args: argparse.Namespace) -> int:
    """Company website/news checks of the company queue -> raw_ops.url_checks."""
    from loaders.company_pages.run import CompanyPagesError, check_company_pages

    try:
        result = check_company_pages(
            all_urls=args.all,
            progress=_progress(args),
            concurrency=args.concurrency,
            request_deadline_s=args.deadline,
        )
    except CompanyPagesError as exc:
        return _fail_with(exc)
    from app.dagster_report import report_load

    report_load("company_pages", None, result)
    if args.json:
        _print_summary(args, result)
    if args.skip_linkedin:
        return 0
    from loaders.apify_linkedin.helpers import ApifyError
    from loaders.company_pages.linkedin import refresh_company_pages

    settings = load_settings()
    if not settings.test_mode and not settings.apify_token:
        _progress(args)("LinkedIn company pages skipped: APIFY_TOKEN is not set")
        return 0
    try:
        linkedin = refresh_company_pages(
            all_urls=args.all, actor_id=args.actor, progress=_progress(args)
        )
    except ApifyError as exc:
        return _fail_with(exc)
    if args.json:
        _print_summary(args, linkedin)
    return 0 if linkedin.ok else 1


def cmd_load_openoutreach(args: argparse.Namespace) -> int:
    """One OpenOutreach account's crm.db (read-only) into raw_openoutreach."""
    from loaders.openoutreach.run import CrmFileError, load_crm
    from outreach.warehouse import database_url

    try:
        summary = load_crm(
            args.crm, args.account, database_url=database_url(), progress=_progress(args)
        )
    except CrmFileError as exc:
        return _fail_with(exc)
    from app.dagster_report import report_load

    report_load("openoutreach", None, summary)
    if args.json:
        _print_summary(args, summary)


# ---------------------------------------------------------------------------- serve
def cmd_serve(args: argparse.Namespace) -> int:
    """The webhook receiver (SendGrid Event Webhook, Calendly) on uvicorn."""
    from loaders.email_events.receiver import Receiver, serve
    from outreach.warehouse import database_url

    settings = load_settings()
    if not settings.sendgrid_webhook_public_key and not settings.calendly_webhook_signing_key:
        return _fail(
            "set SENDGRID_WEBHOOK_PUBLIC_KEY and/or CALENDLY_WEBHOOK_SIGNING_KEY: the receiver "
            "verifies every request",
            EXIT_USAGE,
        )
    try:
        receiver = Receiver(
            database_url(),
            sendgrid_public_key=settings.sendgrid_webhook_public_key,
            calendly_signing_key=settings.calendly_webhook_signing_key,
        )
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    host = args.host or settings.serve_host
    port = args.port or settings.serve_port
    print(
        f"receiving on http://{host}:{port}/webhooks/sendgrid and /webhooks/calendly",
        flush=True,
    )
    serve(receiver, host, port)
    return 0


def _progress(args: argparse.Namespace):
    """Progress lines: on stdout, or on stderr when stdout carries --json."""
    if getattr(args, "json", False):
        return lambda message: print(message, file=sys.stderr, flush=True)
    return lambda message: print(message, flush=True)  # shown as written, even when piped


def _print_summary(args: argparse.Namespace, summary) -> None:
    if getattr(args, "json", False):
        print(json.dumps(summary.as_dict(), indent=2, default=str))
    else:
        print(summary.render())


def cmd_load_millionverifier(args: argparse.Namespace) -> int:
    """Verify the due emails (or a file's) through MillionVerifier into raw_verifier.
    Exit 0 when every email got an answer, 4 when some stayed unanswered, 3 when the
    credits ran out, 1 when the run failed (bad key, bulk file failed) or cannot start."""
    from loaders.millionverifier import settings as mv
    from loaders.millionverifier.run import VerifierError, verify_emails

    try:
        summary = verify_emails(
            emails_file=Path(args.emails) if args.emails else None,
            concurrency=args.concurrency,
            api_timeout_s=args.timeout,
            bulk_threshold=args.bulk_threshold,
            max_emails=args.limit,
            progress=_progress(args),
        )
    except VerifierError as exc:
        return _fail_with(exc)
    from app.dagster_report import report_load

    report_load("millionverifier", None, summary)
    _print_summary(args, summary)
    return {mv.RUN_COMPLETED: 0, mv.RUN_PARTIAL: 4, mv.RUN_CREDITS_EXHAUSTED: 3}.get(
        summary.status, 1
    )


def cmd_load_linkedin_ads(args: argparse.Namespace) -> int:
    """LinkedIn Ads daily campaign analytics (or an exported response) into raw_linkedin_ads.
    Exit 0 when loaded, 2 when LinkedIn rejected the access token (401), 1 otherwise."""
    from datetime import date

    from loaders.linkedin_ads.run import (
        LinkedInAdsError,
        LinkedInAuthError,
        import_analytics_file,
        load_linkedin_ads,
    )

    try:
        start, end = (
            date.fromisoformat(d) if d else None for d in (args.start_date, args.end_date)
        )
    except ValueError as exc:
        return _fail(f"--start-date / --end-date: {exc} (expected YYYY-MM-DD)", EXIT_USAGE)
    try:
        if args.from_file:
            summary = import_analytics_file(
                Path(args.from_file), account=args.account, progress=_progress(args)
            )
        else:
            summary = load_linkedin_ads(
                start_date=start,
                end_date=end,
                lookback_days=args.lookback_days,
                accounts=[a for a in (args.accounts or "").split(",") if a.strip()] or None,
                connections_file=args.connections,
                progress=_progress(args),
            )
    except LinkedInAuthError as exc:
        return _fail(str(exc), 2)
    except LinkedInAdsError as exc:
        return _fail_with(exc)
    from app.dagster_report import report_load

    report_load("linkedin_ads", None, summary)
    _print_summary(args, summary)
    return 0


# ---------------------------------------------------------------------------- ops
def cmd_ops(args: argparse.Namespace) -> int:
    import psycopg

    from outreach.events import ensure_raw_tables, resolve_error
    from outreach.warehouse import database_url

    url = database_url()
    if args.ops_command == "resolve-error":
        resolved = [i for i in args.error_ids if resolve_error(url, i)]
        for error_id in args.error_ids:
            state = "resolved" if error_id in resolved else "not found or already resolved"
            print(f"error {error_id}: {state}")
        return 0 if len(resolved) == len(args.error_ids) else 1
    ensure_raw_tables(url)
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select error_id, created_at, severity, event_type, record_id, error_message"
            " from raw_ops.pipeline_errors where not resolved order by created_at, error_id"
        ).fetchall()
    columns = ("error_id", "created_at", "severity", "event_type", "record_id", "message")
    if args.json:
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        for record in records:
            record["created_at"] = record["created_at"].isoformat()
        print(json.dumps(records, indent=2))
        return 0
    print(_table(columns, [(*row[:4], row[4] or "-", row[5]) for row in rows]))
    print(f"{len(rows)} unresolved error(s); `outreach ops resolve-error ID` resolves one")
    return 0


def _table(columns: tuple[str, ...], rows: list[tuple]) -> str:
    """A plain text table: a header, then one row each; the last column (a message) in
    full, its further lines indented under it."""
    texts = [
        [f"{v:%Y-%m-%d %H:%M:%S%z}" if hasattr(v, "strftime") else str(v) for v in row]
        for row in rows
    ]
    widths = [max([len(columns[i])] + [len(t[i]) for t in texts]) for i in range(len(columns) - 1)]
    indent = " " * (sum(widths) + 2 * len(widths))

    def line(values: list[str]) -> str:
        head = "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=False))
        first, *more = (values[-1].splitlines() or [""]) if values else [""]
        return "\n".join([f"{head}  {first}".rstrip(), *(f"{indent}{m}" for m in more)])

    return "\n".join([line(list(columns)), *(line(t) for t in texts)])


# ---------------------------------------------------------------------------- gdpr
def cmd_gdpr(args: argparse.Namespace) -> int:
    """GDPR export (JSON of everything held about a person) and erase."""
    from app.dbt import run_dbt
    from outreach.gdpr import GdprError, dumps, erase_person, export_person
    from outreach.warehouse import database_url

    url = database_url()
    try:
        if args.gdpr_command == "export":
            document = export_person(
                url,
                args.email,
                linkedin_urls=args.linkedin_url,
                names=args.name,
                include_name_matches=args.include_name_matches,
            )
            text = dumps(document)
            if args.out:
                Path(args.out).write_text(text + "\n", encoding="utf-8")
                print(
                    f"wrote {document['row_count']} rows from {document['relation_count']} "
                    f"relations to {args.out}",
                    file=sys.stderr,
                )
            else:
                print(text)
            return 0
        if not args.dry_run and not args.yes:
            refused = _confirm_erase(args.email)
            if refused is not None:
                return refused
        summary = erase_person(
            url,
            args.email,
            linkedin_urls=args.linkedin_url,
            names=args.name,
            rebuild=not args.no_rebuild,
            progress=(lambda m: print(m, file=sys.stderr)) if args.json else print,
            dry_run=args.dry_run,
            run_dbt=run_dbt,
        )
    except GdprError as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps(summary.as_dict(), indent=2))
    else:
        print(summary.render())
    return 0 if args.dry_run or not summary.left_over else 4


def _confirm_erase(email: str) -> int | None:
    """Ask before erasing (on a terminal); None to go on, else the exit code."""
    if not sys.stdin.isatty():
        return _fail(
            "gdpr erase deletes data for good: confirm with --yes (no terminal to ask on), "
            "or see what it would do with --dry-run",
            EXIT_USAGE,
        )
    answer = input(
        f"Erase everything held about {email} (raw rows, key maps, files; cannot be undone)? "
        "Type 'erase' to go on: "
    )
    if answer.strip().lower() != "erase":
        print("nothing erased", file=sys.stderr)
        return 1
    return None


# ---------------------------------------------------------------------------- campaigns
def _campaign_candidates(conn, args: argparse.Namespace) -> tuple[list, list[str], str]:
    """(candidates, problems, source label) from --from / --contact-id."""
    from outreach import campaigns

    found, problems, labels = [], [], []
    source = getattr(args, "source", None)
    if source in ("renewals-ready", "signals"):
        found += campaigns.slot_candidates(
            conn, source, args.slots.split(","), args.email_status.split(",")
        )
        labels.append(source)
    elif source:
        loaded = campaigns.file_candidates(conn, source)
        found += loaded.candidates
        problems += loaded.problems
        labels.append(f"file:{Path(source).name}")
    if getattr(args, "contact_id", None):
        known = dict(
            conn.execute(
                "select contact_id, email from people.contact where contact_id = any(%s)",
                (args.contact_id,),
            ).fetchall()
        )
        for cid in args.contact_id:
            if cid in known:
                found.append(campaigns.Candidate(cid, known[cid]))
            else:
                problems.append(f"--contact-id {cid}: not a known contact")
        labels.append("cli")
    return found, problems, "+".join(labels) or "cli"


def cmd_campaign(args: argparse.Namespace) -> int:
    """Campaigns: create|add|remove|list|show (outreach/campaigns.py, raw_campaigns)."""
    import psycopg

    from outreach import campaigns
    from outreach.warehouse import database_url

    url = database_url()
    campaigns.ensure_raw_tables(url)
    action = args.campaign_command
    try:
        with psycopg.connect(url) as conn:
            if action == "list":
                rows = campaigns.list_campaigns(conn)
                if args.json:
                    print(json.dumps(rows, indent=2))
                for r in [] if args.json else rows:
                    print(
                        f"{r['campaign_id']:>6}  {r['name']}  {r['members']} members  "
                        f"(from {r['source']}, updated {r['updated_at']})"
                    )
                if not rows and not args.json:
                    print("no campaigns yet: `outreach campaign create NAME --from renewals-ready`")
                return 0
            if action == "show":
                shown = campaigns.show_campaign(conn, campaigns.campaign_id(conn, args.name))
                if args.json:
                    print(json.dumps(shown, indent=2))
                    return 0
                print(
                    f"campaign {shown['name']} (id {shown['campaign_id']}), from "
                    f"{shown['source']}, created {shown['created_at']}: "
                    f"{len(shown['members'])} members, {shown['changes']} changes"
                )
                for m in shown["members"]:
                    print(f"  {m['contact_id']:>8}  {m['email'] or ''}")
                for reason, n in sorted(shown["suppressed_since_added"].items()):
                    print(f"  ({n} suppressed since added: {reason}; not members)")
                return 0
            if action == "ab-test":
                return _declare_ab_tests(conn, args)
            if action in ("create", "add") and not (args.source or args.contact_id):
                return _fail(f"campaign {action}: give --from or --contact-id", EXIT_USAGE)
            found, problems, label = _campaign_candidates(conn, args)
            for line in problems:
                print(f"skipped: {line}", file=sys.stderr)
            if action == "remove":
                cid = campaigns.campaign_id(conn, args.name)
                removed = campaigns.remove_contacts(conn, cid, [c.contact_id for c in found], label)
                print(f"campaign {args.name}: {removed} contacts removed")
                return 0
            if action == "create":
                cid = campaigns.create_campaign(conn, args.name, label)
            else:
                cid = campaigns.campaign_id(conn, args.name)
            result = campaigns.add_contacts(conn, cid, found, label)
        summary = {
            "campaign_id": result.campaign_id,
            "added": result.added,
            "already_members": result.already,
            "left_out_suppressed": result.left_out,
            "skipped_rows": len(problems),
        }
        print(json.dumps(summary) if args.json else result.render(args.name))
        return 0
    except campaigns.CampaignError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except psycopg.errors.UndefinedTable as exc:
        missing = str(exc).splitlines()[0]
        return _fail(f"the marts are not built yet ({missing}): run `outreach dbt build` first")


def _declare_ab_tests(conn, args: argparse.Namespace) -> int:
    """outreach campaign ab-test: declare A/B tests before their results (outreach/ab_tests.py)."""
    from outreach import ab_tests

    if args.from_file:
        declarations = ab_tests.read_file(args.from_file)
        source = f"file:{args.from_file}"
    else:
        if not (args.test_name and args.campaign and args.variants and args.min_sample):
            return _fail(
                "campaign ab-test: give TEST_NAME --campaign C --variants A,B --min-sample N"
                " (or --from-file F)",
                EXIT_USAGE,
            )
        variants = [v.strip() for v in args.variants.split(",")]
        if len(variants) != 2:
            return _fail(f"--variants {args.variants!r}: expected two names, e.g. A,B", EXIT_USAGE)
        declarations = [
            ab_tests.Declaration(
                test_name=args.test_name,
                campaign=args.campaign,
                variant_a=variants[0],
                variant_b=variants[1],
                min_sample_per_arm=args.min_sample,
                primary_metric=args.metric,
                alpha=args.alpha,
                campaign_step=args.step,
                expected_share_a=args.share_a,
            )
        ]
        source = "cli"
    new = sum(ab_tests.declare(conn, d, source) for d in declarations)
    print(
        f"{new} A/B tests declared, {len(declarations) - new} already declared (unchanged);"
        " results count sends from now on (`outreach dbt build -s +ab_tests`)"
    )
    return 0


FUNNEL_STEPS = [
    ("sends", None),
    ("delivered", "delivery_rate"),
    ("unique_human_opens", "open_rate"),
    ("unique_clicks", "click_rate"),
    ("replies", "reply_rate"),
    ("meetings_booked", "meeting_rate"),
    ("handoffs", "handoff_rate"),
    ("hard_bounces", "hard_bounce_rate"),
    ("unsubscribes", "unsubscribe_rate"),
    ("complaints", "complaint_rate"),
]


def cmd_report(args: argparse.Namespace) -> int:
    """outreach report campaign NAME: the funnel (marketing.campaign_performance) and the
    A/B state (marketing.ab_tests) as of the last build."""
    import psycopg

    from outreach import campaigns
    from outreach.warehouse import database_url

    if args.report_command != "campaign":
        return _fail("report: name one, e.g. `outreach report campaign NAME`", EXIT_USAGE)
    try:
        with psycopg.connect(database_url()) as conn:
            cid = campaigns.campaign_id(conn, args.name)
            cur = conn.execute(
                "select * from marketing.campaign_performance where campaign_id = %s"
                " order by grain, campaign_step, variant",
                (cid,),
            )
            cols = [d.name for d in cur.description]
            rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
            cur = conn.execute(
                "select test_name, primary_metric, state, state_reason, winner, a_n, b_n,"
                " a_rate, b_rate, p_value, chance_b_beats_a, srm_p_value"
                " from marketing.ab_tests where campaign_id = %s order by test_name",
                (cid,),
            )
            tcols = [d.name for d in cur.description]
            tests = [dict(zip(tcols, r, strict=True)) for r in cur.fetchall()]
    except campaigns.CampaignError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except psycopg.errors.UndefinedTable as exc:
        missing = str(exc).splitlines()[0]
        return _fail(f"the marts are not built yet ({missing}): run `outreach dbt build` first")
    if args.json:
        print(json.dumps({"funnel": rows, "ab_tests": tests}, indent=2, default=str))
        return 0
    total = next((r for r in rows if r["grain"] == "campaign"), None)
    if total is None:
        print(f"campaign {args.name}: no sends yet (as of the last build of campaign_performance)")
        return 0
    print(f"campaign {total['campaign_name']} (id {cid}): funnel (opens: people, not machines)")
    for col, rate in FUNNEL_STEPS:
        pct = "" if rate is None or total[rate] is None else f"  {100 * total[rate]:6.2f} %"
        bar = "#" * round(40 * total[col] / max(total["sends"], 1))
        print(f"  {col:<20}{total[col]:>9}{pct:>11}  {bar}")
    print(f"  (+{total['machine_opens']} sends opened by machines only, not counted as opens)")
    for r in rows:
        if r["grain"] == "variant":
            print(
                f"  step {r['campaign_step']} variant {r['variant']}: {r['sends']} sends,"
                f" open {100 * (r['open_rate'] or 0):.1f} %, reply {100 * (r['reply_rate'] or 0):.1f} %"
            )
    for t in tests:
        verdict = f"winner {t['winner']}" if t["winner"] else t["state"]
        print(
            f"A/B {t['test_name']} ({t['primary_metric']}): {verdict} - {t['state_reason']};"
            f" n {t['a_n']} / {t['b_n']}, P(B beats A) {float(t['chance_b_beats_a']):.3f}"
        )
    return 0


def cmd_suppress(args: argparse.Namespace) -> int:
    """The suppression list: add addresses (manual or a given reason), list it."""
    import psycopg

    from outreach import campaigns
    from outreach.warehouse import database_url

    url = database_url()
    campaigns.ensure_raw_tables(url)
    try:
        with psycopg.connect(url) as conn:
            if args.suppress_command == "list":
                rows = conn.execute(
                    "select coalesce(email, '(erased: sha256 ' || left(email_sha256, 12) || ')'),"
                    " reason, source, suppressed_at from raw_campaigns.suppressions"
                    " order by suppressed_at, suppression_id"
                ).fetchall()
                for email, reason, source, at in rows:
                    print(f"{at:%Y-%m-%d %H:%M:%S%z}  {reason:<12} {email}  ({source})")
                print(f"{len(rows)} suppressed addresses", file=sys.stderr)
                return 0
            added = campaigns.suppress(
                conn,
                [campaigns.Suppression(e, args.reason, args.source) for e in args.emails],
            )
    except campaigns.CampaignError as exc:
        return _fail(str(exc), EXIT_USAGE)
    print(f"{added} addresses suppressed ({len(args.emails) - added} already were)")
    return 0


def cmd_handoff(args: argparse.Namespace) -> int:
    """Record hand-offs to account management (marketing.ac_handoff)."""
    import csv

    import psycopg

    from outreach import campaigns
    from outreach.warehouse import database_url

    rows, problems = [], []
    if args.from_file:
        if not Path(args.from_file).is_file():
            return _fail(f"{args.from_file}: no such file", EXIT_USAGE)
        with open(args.from_file, newline="", encoding="utf-8-sig") as fh:
            for n, row in enumerate(csv.DictReader(fh), start=2):
                company = (row.get("company_id") or "").strip()
                contact = (row.get("contact_id") or "").strip()
                if not company.isdigit() or (contact and not contact.isdigit()):
                    problems.append(
                        f"{args.from_file}: row {n}: expected a numeric company_id "
                        f"(and contact_id if given), got {company!r}, {contact!r}"
                    )
                    continue
                rows.append(
                    campaigns.Handoff(
                        int(company), int(contact) if contact else None, row.get("notes")
                    )
                )
    elif args.company_id is not None:
        rows.append(campaigns.Handoff(args.company_id, args.contact_id, args.notes))
    else:
        return _fail("handoff: give --company-id or --from-file", EXIT_USAGE)
    url = database_url()
    campaigns.ensure_raw_tables(url)
    with psycopg.connect(url) as conn:
        n = campaigns.record_handoffs(conn, rows, "file" if args.from_file else "cli")
    for line in problems:
        print(f"skipped: {line}", file=sys.stderr)
    print(f"{n} hand-offs recorded")
    return 4 if problems else 0


def cmd_message(args: argparse.Namespace) -> int:
    """Record an outbound send or an inbound reply in the message log."""
    from datetime import UTC, datetime

    import psycopg

    from outreach import campaigns
    from outreach.warehouse import database_url

    if args.contact_id is None and not args.email:
        return _fail("message log: give --contact-id or --email", EXIT_USAGE)
    try:
        sent_at = datetime.fromisoformat(args.sent_at) if args.sent_at else datetime.now(UTC)
    except ValueError:
        return _fail(f"--sent-at {args.sent_at!r}: expected an ISO 8601 time", EXIT_USAGE)
    url = database_url()
    campaigns.ensure_raw_tables(url)
    try:
        with psycopg.connect(url) as conn:
            cid = campaigns.campaign_id(conn, args.campaign) if args.campaign else None
            campaigns.record_messages(
                conn,
                [
                    campaigns.Message(
                        direction=args.direction,
                        sent_at=sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC),
                        campaign_id=cid,
                        contact_id=args.contact_id,
                        email=args.email,
                        channel=args.channel,
                        subject=args.subject,
                        body=args.body,
                    )
                ],
                "cli",
            )
    except campaigns.CampaignError as exc:
        return _fail(str(exc), EXIT_USAGE)
    print(f"{args.direction} {args.channel} message recorded")
    return 0


# ---------------------------------------------------------------------------- export
def cmd_export(args: argparse.Namespace) -> int:
    """Deliver an outbox to its webhook. Exit 0 when nothing deliverable is left pending, 3
    when the receiver is unavailable or its circuit breaker is open (rows stay pending), 4
    when the receiver refused rows (failed or dead-lettered), 2 when the export is not
    configured (no webhook URL, a URL without its secret, a bad setting), 1 when it cannot
    run otherwise (the outbox not built). With --json every outcome, errors included, is
    one JSON object on stdout."""
    from exports.config import ExportConfigError
    from exports.outbox import strip_url_secrets
    from outreach.embedded import EmbeddedError
    from outreach.warehouse import database_url

    def error(message: str, code: int, kind: str) -> int:
        if args.json:
            print(
                json.dumps(
                    {"target": args.target, "error": message, "kind": kind, "exit_code": code}
                )
            )
        return _fail(message, code)

    settings = load_settings()
    if args.target == "ple":
        from exports.ple import deliver_ple as run

        url, variable = settings.ple_webhook_url, "PLE_WEBHOOK_URL"
    else:
        from exports.alerts import deliver_alerts as run

        url, variable = settings.alert_webhook_url, "ALERT_WEBHOOK_URL"
    if not url:
        return error(
            f"{variable} is not set: nothing sent, the rows wait in the outbox",
            EXIT_USAGE,
            "config_error",
        )
    progress = (lambda m: print(m, file=sys.stderr)) if args.json else print
    try:
        warehouse = database_url(settings)
        progress(f"export {args.target} -> {strip_url_secrets(url)}")
        report = run(warehouse, progress=progress, retry_dead=args.retry_dead)
    except ExportConfigError as exc:
        return error(str(exc), EXIT_USAGE, "config_error")
    except EmbeddedError as exc:
        return error(str(exc), 1, "warehouse_error")
    if report.missing_relation:
        return error(
            f"{report.relation} does not exist yet: build the models first", 1, "not_built"
        )
    if args.json:  # (without --json, the run printed its summary as it ended)
        print(json.dumps(report.as_dict(), indent=2))
    if report.dead_letters:
        progress(
            f"{report.dead_letters} rows in the dead letter (marketing.outbox_delivery_state); "
            f"`outreach export {args.target} --retry-dead` requeues them"
        )
    if report.stopped:
        return 3
    return 4 if report.failed_rows or report.dead_lettered else 0


# ---------------------------------------------------------------------------- demo / ui
def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import run_demo

    return run_demo(
        companies=args.companies,
        people=args.people,
        seed=args.seed,
        out_dir=Path(args.out_dir) if args.out_dir else None,
    )


def _dagster_home() -> Path:
    from app.dagster_report import dagster_home

    return dagster_home()


def cmd_ui(args: argparse.Namespace) -> int:
    from outreach.dbt import dbt_env, default_stop_signals
    from outreach.warehouse import database_url

    url = database_url()
    env = {
        **os.environ,
        "OUTREACH_DATABASE_URL": url,
        **dbt_env(url),
        "DAGSTER_HOME": str(_dagster_home()),
    }
    cmd = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-m",
        "orchestration.definitions",
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    print(f"Dagster UI on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    try:
        # dagster dev's children must stop on the SIGINT it sends them, also when this was
        # started with SIGINT ignored (`outreach ui &` in a script)
        return subprocess.run(
            cmd, env=env, cwd=str(PROJECT_ROOT), check=False, preexec_fn=default_stop_signals
        ).returncode
    except KeyboardInterrupt:
        return 130


# ---------------------------------------------------------------------------- completion
def cmd_completion(args: argparse.Namespace) -> int:
    """A bash completion script generated from the argparse tree (no extra dependency)."""
    print(bash_completion(build_parser()))
    return 0


def _words(parser: argparse.ArgumentParser, path: str, out: dict[str, list[str]]) -> None:
    words: list[str] = []
    for action in parser._actions:
        words += [o for o in action.option_strings if o.startswith("--")]
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                words.append(name)
                _words(child, f"{path} {name}".strip(), out)
        elif not action.option_strings and action.choices:
            words += list(action.choices)
    out[path] = words


def bash_completion(parser: argparse.ArgumentParser) -> str:
    tree: dict[str, list[str]] = {}
    _words(parser, "", tree)
    cases = "\n".join(
        f'        "{path}") words={shlex.quote(" ".join(words))} ;;'
        for path, words in sorted(tree.items())
        if words
    )
    known = "|".join(f'"{path}"' for path in sorted(tree) if path)
    return f"""# bash completion for outreach (generated by `outreach completion bash`)
_outreach() {{
    local cur word next path="" words=""
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    for word in "${{COMP_WORDS[@]:1:COMP_CWORD-1}}"; do
        next="${{path:+$path }}$word"
        case "$next" in
            {known}) path="$next" ;;
        esac
    done
    case "$path" in
{cases}
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -F _outreach outreach"""


COMMAND_EXIT_CODES = {
    "load millionverifier": "this command: 0 every email answered, 4 some unanswered, "
    "3 the credits ran out, 1 the run failed.",
    "load linkedin-ads": "this command: 2 also when LinkedIn rejected the access token (401).",
    "load apify-linkedin": "this command: 1 when a refresh job failed.",
    "export": "this command: 0 nothing deliverable left pending; 3 the receiver is "
    "unavailable or its circuit breaker is open (rows stay pending); 4 the receiver refused "
    "rows; 2 not configured (no URL, no secret); 1 the outbox is not built.",
    "gdpr erase": "this command: 4 the email or a profile URL is still found afterwards; "
    "2 not confirmed (no terminal and no --yes); 1 the answer was not 'erase'.",
    "load email-events": "this command: 4 some items of the file could not be read (the "
    "others are stored).",
    "handoff": "this command: 4 some rows of the file could not be used (the others are recorded).",
    "campaign": "this command: 2 also for an unknown campaign, a duplicate name or a file "
    "without a contact_id or email column.",
    "db status": "this command: 3 the embedded server is not running (no URL set).",
    "ops resolve-error": "this command: 1 when an id was not found or already resolved.",
}


def _parsers(
    parser: argparse.ArgumentParser, path: str = ""
) -> list[tuple[argparse.ArgumentParser, str]]:
    """Every subcommand's parser with its own exit-code line (if any)."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                here = f"{path} {name}".strip()
                out.append((child, COMMAND_EXIT_CODES.get(here, "")))
                out += _parsers(child, here)
    return out


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="outreach",
        description="outreach-warehouse: load vendor data, build the marts, run the pipelines.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from outreach import __version__

    p.add_argument("--version", action="version", version=f"outreach {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser(
        "demo", help="generate demo data, load it, build every model, print a summary"
    )
    d.add_argument(
        "--companies", type=int, default=500, help="number of demo companies (default 500)"
    )
    d.add_argument("--people", type=int, default=3000, help="number of demo people (default 3000)")
    d.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    d.add_argument("--out-dir", help="where to write the demo files (default .outreach/demo)")
    d.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="the warehouse server: start|stop|status|url|psql|grant-reader")
    dbs = db.add_subparsers(dest="db_command", metavar="ACTION")
    for name, text in [
        ("start", "start the embedded PostgreSQL (no-op with OUTREACH_DATABASE_URL)"),
        ("stop", "stop the embedded PostgreSQL (even when OUTREACH_DATABASE_URL is set)"),
        (
            "status",
            "show whether the embedded server runs, its port and data folder, and the "
            "OUTREACH_DATABASE_URL server if set (JSON); exit 3 when the embedded one is "
            "not running and no URL is set",
        ),
        (
            "url",
            "print the connection URL, password included (starts the embedded server if needed)",
        ),
    ]:
        dbs.add_parser(name, help=text)
    gr = dbs.add_parser(
        "grant-reader",
        help="set up role outreach_reader (SELECT on the published schemas only); "
        "with NAME, a login role in it",
    )
    gr.add_argument("name", nargs="?", help="login role to create/update as a member")
    gr.add_argument(
        "--password-env",
        metavar="VAR",
        help="environment variable holding NAME's password (never pass it as an argument)",
    )
    ps = dbs.add_parser("psql", help="open psql on the warehouse; extra args go to psql")
    ps.add_argument("psql_args", nargs=argparse.REMAINDER, help="arguments passed to psql")
    db.set_defaults(func=cmd_db)

    e = sub.add_parser(
        "env",
        help="print export lines (the warehouse URL, dbt profile, the venv's bin on PATH): "
        'after `eval "$(outreach env)"` plain `dbt` and `dagster dev` work',
    )
    e.set_defaults(func=cmd_env)

    t = sub.add_parser("dbt", help="run dbt against the warehouse (arguments pass through)")
    t.add_argument("dbt_args", nargs=argparse.REMAINDER, help="arguments passed to dbt")
    t.set_defaults(func=cmd_dbt)

    refresh_help = (
        "the monthly refresh build: `dbt build` of what the new Apify data changes "
        "(source:apify+) plus the downstream of every source loaded since the last build "
        "that covered it; a full build the first time (docs/decisions.md, 'Cost that follows "
        "new data'). After a change to the models, run a full `outreach dbt build`. "
        "Exit code: dbt's"
    )
    r = sub.add_parser("refresh", help=refresh_help, description=refresh_help)
    r.add_argument(
        "dbt_args",
        nargs=argparse.REMAINDER,
        help="extra dbt arguments (e.g. --vars, --target-path), given to dbt parse and build",
    )
    r.set_defaults(func=cmd_refresh)

    f = sub.add_parser("sqlfluff", help="sqlfluff lint|fix the dbt models (dbt templater)")
    f.add_argument(
        "action", nargs="?", default="lint", choices=["lint", "fix"], help="lint (default) or fix"
    )
    f.add_argument("paths", nargs="*", help="paths under dbt_project/ (default models)")
    f.add_argument(
        "--processes", type=int, help="parallel sqlfluff processes (default: one per core)"
    )
    f.set_defaults(func=cmd_sqlfluff)

    ld = sub.add_parser("load", help="load vendor data or intake files into the raw schemas")
    lds = ld.add_subparsers(dest="source", metavar="SOURCE")
    li = lds.add_parser("intake", help="company/people/deal intake files (CSV or JSONL)")
    li.add_argument("--companies", help="companies file (.csv or .jsonl)")
    li.add_argument("--people", help="people file (.csv or .jsonl)")
    li.add_argument(
        "--deals",
        help="deals file (.csv or .jsonl; CRM export: deal_id, contact_id and/or contact_email,"
        " amount, currency, stage, closed_won, closed_at; loaders/intake/README.md)",
    )
    la = lds.add_parser(
        "apify-linkedin", help="refresh LinkedIn profiles through Apify, or import a dataset file"
    )
    la.add_argument(
        "--from-file",
        help='exported dataset (JSON array, {"items": [...]} or JSON Lines; read as a stream)'
        " to import as its own job",
    )
    la.add_argument(
        "--observed-at", help="ISO-8601 time the imported profiles were observed (default now)"
    )
    la.add_argument(
        "--all",
        action="store_true",
        help="every tracked profile, not only those unseen for 30 days",
    )
    la.add_argument("--max-profiles", type=int, default=2000, help="profiles per actor run")
    la.add_argument("--actor", default="apify~linkedin-profile-scraper", help="Apify actor id")
    la.add_argument("--timeout", type=float, default=600, help="seconds an actor run may take")
    mv = lds.add_parser(
        "millionverifier",
        help="verify the emails due in people.due_email_recheck_30d (or a file's) -> raw_verifier",
    )
    mv.add_argument(
        "--emails",
        "--from-file",
        dest="emails",
        metavar="FILE",
        help="verify these addresses instead of the due queue (one per line, or a CSV with an email column)",
    )
    mv.add_argument("--concurrency", type=int, default=10, help="requests in flight (default 10)")
    mv.add_argument(
        "--timeout", type=int, default=20, help="seconds the API may spend per address (2-60)"
    )
    mv.add_argument(
        "--bulk-threshold",
        type=int,
        default=5000,
        help="more emails than this: use the bulk file API (default 5000)",
    )
    mv.add_argument("--limit", type=int, help="verify at most this many emails")
    lad = lds.add_parser(
        "linkedin-ads",
        help="LinkedIn Ads daily campaign analytics (adAnalytics) -> raw_linkedin_ads",
    )
    lad.add_argument(
        "--start-date", help="backfill from this day (YYYY-MM-DD); default: incremental"
    )
    lad.add_argument("--end-date", help="last day to load (YYYY-MM-DD; default today, UTC)")
    lad.add_argument(
        "--lookback-days", type=int, default=7, help="days re-pulled for restatements (default 7)"
    )
    lad.add_argument(
        "--accounts", help="ad account ids, comma-separated (default LINKEDIN_AD_ACCOUNTS)"
    )
    lad.add_argument(
        "--connections", metavar="FILE", help="connections YAML: name, account, method oauth|test"
    )
    lad.add_argument(
        "--from-file", metavar="FILE", help="load an exported adAnalytics response (JSON) instead"
    )
    lad.add_argument("--account", help="with --from-file: the ad account the rows belong to")
    loo = lds.add_parser(
        "openoutreach",
        help="an OpenOutreach CRM (crm.db, read-only, incremental) -> raw_openoutreach",
    )
    loo.add_argument("--crm", required=True, metavar="PATH", help="OpenOutreach's crm.db")
    loo.add_argument(
        "--account",
        default="default",
        help="the LinkedIn account this crm.db belongs to (default 'default'); "
        "several accounts land side by side",
    )
    lcp = lds.add_parser(
        "company-pages",
        help="check the company queue's website/news URLs over HTTP -> raw_ops.url_checks",
    )
    lcp.add_argument(
        "--all", action="store_true", help="every company URL, not only those due (30 days)"
    )
    lcp.add_argument(
        "--concurrency", type=int, default=32, help="checks in flight (one per host; default 32)"
    )
    lcp.add_argument(
        "--deadline", type=float, default=20.0, help="seconds one request may take in all (20)"
    )
    lcp.add_argument(
        "--skip-linkedin",
        action="store_true",
        help="only the website/news checks, not the LinkedIn company pages (Apify)",
    )
    lcp.add_argument(
        "--actor",
        default="fraktalapi~linkedin-company-scraper",
        help="Apify LinkedIn company actor id",
    )
    for loader in (li, la, mv, lad, loo, lcp):
        loader.add_argument(
            "--json",
            action="store_true",
            help="print the summary as JSON on stdout (progress goes to stderr)",
        )
    lee = lds.add_parser(
        "email-events", help="backfill email events from a SendGrid or Amazon SES export file"
    )
    lee.add_argument(
        "--from-file",
        required=True,
        metavar="FILE",
        help="a JSON array or JSON Lines file of SendGrid events / SES notifications",
    )
    lee.add_argument(
        "--format", required=True, choices=["sendgrid", "ses"], help="the provider's shape"
    )
    lee.add_argument("--json", action="store_true", help="print the summary as JSON")
    ld.set_defaults(func=cmd_load)

    sv = sub.add_parser(
        "serve", help="the webhook receiver: SendGrid Event Webhook and Calendly (uvicorn)"
    )
    sv.add_argument(
        "--host", default=None, help="address to listen on (default OUTREACH_SERVE_HOST, 127.0.0.1)"
    )
    sv.add_argument(
        "--port", type=int, default=None, help="port (default OUTREACH_SERVE_PORT, 8787)"
    )
    sv.set_defaults(func=cmd_serve)

    op = sub.add_parser("ops", help="pipeline errors: list unresolved, resolve-error ID")
    ops = op.add_subparsers(dest="ops_command", metavar="ACTION")
    oe = ops.add_parser("errors", help="list the unresolved pipeline errors (full messages)")
    oe.add_argument("--json", action="store_true", help="print them as a JSON array")
    re_ = ops.add_parser("resolve-error", help="mark pipeline errors resolved")
    re_.add_argument(
        "error_ids", type=int, nargs="+", metavar="ID", help="error ids (from `ops errors`)"
    )
    op.set_defaults(func=cmd_ops)
    g = sub.add_parser("gdpr", help="GDPR requests: export|erase everything about a person")
    gs = g.add_subparsers(dest="gdpr_command", metavar="ACTION")
    for action, text in [
        ("export", "write everything held about the person (raw and marts) as JSON"),
        ("erase", "delete the person from raw, tombstone them for later loads, rebuild"),
    ]:
        a = gs.add_parser(action, help=text)
        a.add_argument("--email", required=True, help="the person's email address")
        a.add_argument(
            "--linkedin-url",
            action="append",
            default=[],
            help="a LinkedIn profile URL of the person (repeatable; found ones are added)",
        )
        a.add_argument(
            "--name",
            action="append",
            default=[],
            help="a name of the person to match too (repeatable; found ones are added)",
        )
        if action == "export":
            a.add_argument("--out", metavar="FILE", help="write the JSON here (default stdout)")
            a.add_argument(
                "--include-name-matches",
                action="store_true",
                help="also rows that match only a name (may be a namesake's; counted otherwise)",
            )
        else:
            a.add_argument(
                "--no-rebuild", action="store_true", help="skip the dbt rebuild afterwards"
            )
            a.add_argument(
                "--yes",
                "-y",
                action="store_true",
                help="do not ask for confirmation (required when not on a terminal)",
            )
            a.add_argument(
                "--dry-run",
                action="store_true",
                help="report what would be erased (rows, tombstones, files); change nothing",
            )
            a.add_argument("--json", action="store_true", help="print the summary as JSON")
    g.set_defaults(func=cmd_gdpr)
    cp = sub.add_parser("campaign", help="campaigns: create|add|remove|list|show|ab-test")
    cps = cp.add_subparsers(dest="campaign_command", metavar="ACTION")
    for action, text in [
        ("create", "create a campaign and add its members (suppressed ones left out)"),
        ("add", "add members to a campaign (idempotent; suppressed ones left out)"),
        ("remove", "remove members from a campaign (appended to its change log)"),
    ]:
        a = cps.add_parser(action, help=text)
        a.add_argument("name", help="the campaign's name (or id, for add/remove)")
        a.add_argument(
            "--from",
            dest="source",
            metavar="SOURCE",
            help="renewals-ready (slot contacts of company.vw_due_renewals_ready), signals "
            "(of companies with an unprocessed bit.signal) or a CSV FILE with a contact_id "
            "or email column",
        )
        a.add_argument(
            "--contact-id", type=int, action="append", default=[], help="a contact (repeatable)"
        )
        a.add_argument(
            "--slots", default="CEO,CFO,HR", help="slot roles to take (default CEO,CFO,HR)"
        )
        a.add_argument(
            "--email-status",
            default="green",
            help="email statuses to take, comma-separated (default green)",
        )
        a.add_argument("--json", action="store_true", help="print the summary as JSON")
    cl = cps.add_parser("list", help="list the campaigns with their member counts")
    cl.add_argument("--json", action="store_true", help="print as JSON")
    cs = cps.add_parser("show", help="show a campaign and its members")
    cs.add_argument("name", help="the campaign's name or id")
    cs.add_argument("--json", action="store_true", help="print as JSON")
    ab = cps.add_parser(
        "ab-test",
        help="declare an A/B test before its results (marketing.ab_tests counts later sends)",
    )
    ab.add_argument("test_name", nargs="?", help="the test's name (unique)")
    ab.add_argument("--campaign", help="the campaign's name or id")
    ab.add_argument("--variants", help="the two variants as the sends carry them, e.g. A,B")
    ab.add_argument("--min-sample", type=int, help="delivered sends needed in each arm")
    ab.add_argument(
        "--metric",
        default="reply",
        choices=["reply", "open", "click", "meeting"],
        help="primary metric (default reply)",
    )
    ab.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    ab.add_argument("--step", help="only the sends of this sequence step")
    ab.add_argument(
        "--share-a", type=float, default=0.5, help="planned share of sends for A (default 0.5)"
    )
    ab.add_argument(
        "--from-file", metavar="FILE", help="a JSON list of declarations (outreach/ab_tests.py)"
    )
    cp.set_defaults(func=cmd_campaign)

    rp = sub.add_parser("report", help="reports in the terminal: campaign")
    rps = rp.add_subparsers(dest="report_command", metavar="REPORT")
    rc = rps.add_parser("campaign", help="a campaign's funnel and A/B test states")
    rc.add_argument("name", help="the campaign's name or id")
    rc.add_argument("--json", action="store_true", help="print as JSON")
    rp.set_defaults(func=cmd_report)

    sp = sub.add_parser("suppress", help="the suppression list: add|list")
    sps = sp.add_subparsers(dest="suppress_command", metavar="ACTION")
    sa = sps.add_parser("add", help="suppress email addresses (every outreach view drops them)")
    sa.add_argument("emails", nargs="+", metavar="EMAIL", help="addresses to suppress")
    sa.add_argument(
        "--reason",
        default="manual",
        choices=["manual", "hard_bounce", "complaint", "unsubscribe"],
        help="why (default manual)",
    )
    sa.add_argument("--source", default="cli", help="who asked (default cli)")
    sps.add_parser("list", help="list the suppressed addresses (erased ones by hash only)")
    sp.set_defaults(func=cmd_suppress)

    ho = sub.add_parser("handoff", help="record hand-offs to account management")
    ho.add_argument("--company-id", type=int, help="the company handed off")
    ho.add_argument("--contact-id", type=int, help="the contact, if one")
    ho.add_argument("--notes", help="free text")
    ho.add_argument(
        "--from-file", metavar="FILE", help="a CSV with company_id, contact_id, notes columns"
    )
    ho.set_defaults(func=cmd_handoff)

    me = sub.add_parser("message", help="the message log: record a send or a reply")
    mes = me.add_subparsers(dest="message_command", metavar="ACTION")
    ml = mes.add_parser("log", help="record one outbound send or inbound reply")
    ml.add_argument("--direction", required=True, choices=["outbound", "inbound"], help="which way")
    ml.add_argument(
        "--channel",
        default="email",
        choices=["email", "linkedin", "phone", "other"],
        help="default email",
    )
    ml.add_argument("--campaign", help="the campaign's name or id")
    ml.add_argument("--contact-id", type=int, help="the contact")
    ml.add_argument("--email", help="the contact's address (when the id is not known)")
    ml.add_argument("--subject", help="subject line")
    ml.add_argument("--body", help="message text")
    ml.add_argument("--sent-at", help="ISO 8601 time (default now)")
    me.set_defaults(func=cmd_message)

    x = sub.add_parser(
        "export", help="deliver an outbox to its webhook: ple (PLE enqueue) or alerts"
    )
    x.add_argument("target", choices=["ple", "alerts"], help="which outbox")
    x.add_argument(
        "--retry-dead",
        action="store_true",
        help="requeue the dead-lettered rows first (fresh attempt count)",
    )
    x.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    x.set_defaults(func=cmd_export)

    u = sub.add_parser("ui", help="start the Dagster UI (dagster dev) on 127.0.0.1:3000")
    u.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    u.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    u.set_defaults(func=cmd_ui)

    c = sub.add_parser("completion", help="print a shell completion script")
    c.add_argument(
        "shell",
        choices=["bash"],
        help='the shell; e.g. `eval "$(outreach completion bash)"` in ~/.bashrc',
    )
    c.set_defaults(func=cmd_completion)

    # every command's help ends with the exit codes: its own, then the shared ones
    for parser, own in _parsers(p):
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = "\n".join(filter(None, [textwrap.fill(own, 88), EPILOG]))

    # a command group run without its action prints the group's help
    for group, dest in (
        (db, "db_command"),
        (ld, "source"),
        (op, "ops_command"),
        (g, "gdpr_command"),
        (cp, "campaign_command"),
        (sp, "suppress_command"),
        (me, "message_command"),
    ):
        group.set_defaults(help_parser=group, help_dest=dest)
    p.set_defaults(help_parser=p, help_dest="command")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # dbt and psql take arbitrary flags: hand everything after the subcommand through.
    if argv[:1] == ["dbt"]:
        args = argparse.Namespace(func=cmd_dbt, dbt_args=argv[1:])
    elif argv[:1] == ["refresh"] and not {"-h", "--help"} & set(argv[1:]):
        args = argparse.Namespace(func=cmd_refresh, dbt_args=argv[1:])
    elif argv[:2] == ["db", "psql"]:
        args = argparse.Namespace(func=cmd_db, db_command="psql", psql_args=argv[2:])
    else:
        args = parser.parse_args(argv)
        if getattr(args, args.help_dest, None) is None:
            # bare `outreach` (or `outreach db`): the help, on stdout, exit 0 (as dbt and dlt)
            args.help_parser.print_help()
            return 0
    from outreach.dlt_pipelines import LoadBusyError
    from outreach.warehouse import connection_failure

    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `outreach … | head`
        sys.stderr.close()
        return 0
    except LoadBusyError as exc:
        return _fail(str(exc), EXIT_BUSY)
    except Exception as exc:
        failure = connection_failure(exc)
        if failure is None:
            raise
        return _fail(_unreachable_message(failure), EXIT_UNREACHABLE)


if __name__ == "__main__":
    sys.exit(main())
