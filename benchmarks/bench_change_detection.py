"""Benchmark: change detection (dbt models) against the row-by-row function it replaces.

    .venv/bin/python benchmarks/bench_change_detection.py [--people 1000000]
        [--changed 0.05] [--formatting 0.03] [--incremental 0.01] [--companies 20000]
        [--title-variety 4] [--rounds 1] [--threads N] [--keep]

Runs in a fresh database on the warehouse server (embedded, or OUTREACH_DATABASE_URL's
server) and prints one JSON document. Setup (timed, but not compared): N tracked people
and their companies land in raw_intake as the intake loader lands them, then `dbt seed` and
`dbt run --select +people_intelligence` build the foundation (key maps, company_master) and
record the intake baseline in the observation history; one refresh lands in raw_apify as
the Apify loader lands it (one completed job, one dataset, flat items): every person
observed once more, `--changed` of them changed (promotion, lateral role change, move to
another tracked company, move to a new company, left - one fifth each, titles unchanged
when moving), `--formatting` with a formatting-only title edit (case, punctuation,
spacing), the rest as they were. So every person has two observations.

Then, on the same database, `--rounds` times (median reported):
- (a) ``models``: the change-detection models process the refresh (`dbt run` of
  int_person_observations, int_person_observation_states, int_person_changes,
  int_intelligence_keys, people_intelligence and the views over them) - ``model_seconds``
  is the sum of dbt's execution_time of the tables that process data (TABLES; run_results.json), ``view_seconds`` that of the views
  (re-created by every run: DDL and column comments only), ``command_seconds`` the whole
  `dbt run` command (process start, parsing, connections, views included). With more
  dbt threads than cores, independent models (the states and the changes) run at once and
  each one's execution_time includes the other's share of the cores; `--threads 1` runs
  them one after another (measured at 1M on 2 cores: model seconds 10.9 with 1 thread,
  9.8-11.5 with the profile's 4 - within this machine's noise);
- (b) ``plpgsql_row_by_row``: a faithful re-implementation of the replaced function -
  ``legacy.detect_title_changes(profiles jsonb)`` loops over a JSONB array of the
  profiles, looks the person up by linkedin_url (indexed), compares the raw titles and
  inserts one row per difference (the array is built beforehand, not timed);
- (c) ``insert_select_floor``: one hand-written INSERT ... SELECT joining the landed rows to
  the people and comparing raw titles.
(b) and (c) count formatting-only edits as changes and miss moves with an unchanged
title; (a) must find exactly the planted changes (``planted``), which is checked.

Also, per round, two parts of any set-based answer, each a bare SELECT that writes nothing
(``floor_parts``, with ``floor_parts_vs_c`` their ratios to (c)):
- ``staging_scan``: reading the refresh through the staging view with the canonical profile
  URL, the name check and the position as given (what (a) needs of every item, before any
  comparison);
- ``state_join``: one hash join of the landed rows with the states table on the raw URL,
  comparing raw titles (the join (a) makes with the comparison states, without
  normalisation).
They show how much of (a) no model structure can avoid once the URL is canonicalised per item
when a build runs.

Also: ``full_rebuild`` - the same models with `--full-refresh` (baseline and refresh
observations processed from scratch); ``incremental`` - `--incremental` more observations
(a second refresh of that share of people, `--changed` of them changed) processed by a
plain `dbt run`, with ``incremental_vs_full_rebuild`` and ``incremental_vs_refresh`` the
ratios of model seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the models that process observations (tables), and the views over them (recreated by
# every `dbt run`: DDL, no data processed - reported apart)
TABLES = [
    "int_person_observations",
    "int_person_observation_states",
    "int_person_changes",
    "int_intelligence_keys",
    "people_intelligence",
]
VIEWS = [
    "int_person_verified_positions",
    "unified_audit_log",
    "ple_enqueue_outbox",
    "linkedin_refresh_jobs",
    "vw_linkedin_refresh_freshness",
    "vw_linkedin_profiles_unchecked_35d",
]
MODELS = TABLES + VIEWS
FUNCTIONS = [
    "Sales", "Marketing", "Finance", "Engineering", "Operations", "Human Resources",
    "Product", "Customer Success", "Legal", "IT", "Data", "Design", "Procurement",
    "Security", "Supply Chain", "Business Development",
]  # fmt: skip
# ten seniority levels, lowest first, as people write them
LEVELS = [
    "{f} Analyst", "Senior {f} Analyst", "{f} Lead", "{f} Manager", "Senior {f} Manager",
    "Director of {f}", "Head of {f}", "VP {f}", "SVP {f}", "Chief {f} Officer",
]  # fmt: skip
SUFFIXES = [
    "",
    ", EMEA",
    ", North America",
    ", APAC",
    ", Global",
    ", Enterprise",
    ", SMB",
    ", LATAM",
]
KINDS = ["promotion", "role_change", "job_change", "new_company", "left_company"]


def _with_db(url: str, dbname: str) -> str:
    return urlsplit(url)._replace(path=f"/{dbname}").geturl()


def _sql(url: str, statement: str, params: tuple | dict = ()) -> tuple[float, list]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        cur = conn.execute(statement, params or None)
        rows = cur.fetchall() if cur.description else []
        return time.perf_counter() - started, rows


def _titles_sql() -> str:
    values = ",\n".join(
        f"({f}, {lv}, '{LEVELS[lv].format(f=name)}')"
        for f, name in enumerate(FUNCTIONS)
        for lv in range(len(LEVELS))
    )
    return f"""
        drop table if exists bench.titles;
        create table bench.titles (function_id int, level_id int, title text,
            primary key (function_id, level_id));
        insert into bench.titles values {values};
    """


def _people_sql(people: int, companies: int, variety: int) -> str:
    suffixes = "array[" + ", ".join(f"'{s}'" for s in SUFFIXES[:variety]) + "]"
    return f"""
        drop table if exists bench.people;
        create table bench.people as
        select
            i as person_id,
            'https://www.linkedin.com/in/bench-' || lpad(i::text, 8, '0') as linkedin_url,
            abs(hashtext(i || ':f')) % {len(FUNCTIONS)} as function_id,
            abs(hashtext(i || ':l')) % {len(LEVELS)} as level_id,
            ({suffixes})[1 + abs(hashtext(i || ':v')) % {variety}] as suffix,
            i % {companies} as company_id
        from generate_series(1, {people}) as i;

        insert into raw_intake.companies (_row_key, _source_file, _row_number, _loaded_at,
            company_name, website_url, linkedin_url, _extra, _dlt_load_id, _dlt_id)
        select md5('c' || c), 'bench_companies.csv', c + 1, now() - interval '60 days',
            'Company ' || c || ' Inc', 'https://www.company' || c || '.com',
            'https://www.linkedin.com/company/company-' || c, '{{}}', 'bench', md5('c' || c)
        from generate_series(0, {companies} - 1) as c;

        insert into raw_intake.people (_row_key, _source_file, _row_number, _loaded_at,
            full_name, title, email, linkedin_url, company_name, _extra, _dlt_load_id, _dlt_id)
        select md5('p' || p.person_id), 'bench_people.csv', p.person_id, now() - interval '60 days',
            'Person ' || p.person_id, t.title || p.suffix,
            'person' || p.person_id || '@company' || p.company_id || '.com', p.linkedin_url,
            'Company ' || p.company_id || ' Inc', '{{}}', 'bench', md5('p' || p.person_id)
        from bench.people as p
        join bench.titles as t using (function_id, level_id);

        -- the old system's people table: the fields its function read, keyed by URL
        drop table if exists legacy.people;
        create table legacy.people as
        select p.person_id as contact_id, p.linkedin_url, t.title || p.suffix as title
        from bench.people as p join bench.titles as t using (function_id, level_id);
        create index on legacy.people (linkedin_url);
        analyze raw_intake.companies; analyze raw_intake.people; analyze legacy.people;
    """


def _refresh_sql(job_id: int, dataset: str, share_filter: str, salt: str, changed: float,
                 formatting: float, companies: int) -> str:  # fmt: skip
    """One refresh job (completed) and its dataset items, one per person selected by
    ``share_filter``; planted changes recorded in bench.planted."""
    changed_bp = round(changed * 10_000)
    formatting_bp = round(formatting * 10_000)
    job = f"04.04.06.00.{job_id // 1000:05d}.{job_id % 1000:03d}"
    kinds = "(array[" + ", ".join(f"'{k}'" for k in KINDS) + "])"
    return f"""
        drop table if exists bench.observed_{job_id};
        create table bench.observed_{job_id} as
        select
            p.*,
            abs(hashtext(p.person_id || ':{salt}')) % 10000 as k,
            t.title || p.suffix as old_title
        from bench.people as p join bench.titles as t using (function_id, level_id)
        where {share_filter};

        drop table if exists bench.items_{job_id};
        create table bench.items_{job_id} as
        select
            o.person_id,
            o.linkedin_url,
            case
                when o.k < {changed_bp} then {kinds}[1 + o.k % 5]
                when o.k < {changed_bp + formatting_bp} then 'formatting'
            end as planted,
            case
                when o.k < {changed_bp} and o.k % 5 = 0 then
                    coalesce(up.title || o.suffix, 'Chief Executive Officer')
                when o.k < {changed_bp} and o.k % 5 = 1 then lateral_move.title || o.suffix
                when o.k < {changed_bp} and o.k % 5 = 4 then null
                when o.k < {changed_bp + formatting_bp} and o.k % 3 = 0 then upper(o.old_title)
                when o.k < {changed_bp + formatting_bp} and o.k % 3 = 1 then o.old_title || '.'
                when o.k < {changed_bp + formatting_bp} then replace(o.old_title, ' ', '  ')
                else o.old_title
            end as job_title,
            case
                when o.k < {changed_bp} and o.k % 5 = 2 then 'Company ' || (o.company_id + 1) % {companies}
                when o.k < {changed_bp} and o.k % 5 = 3 then 'Newco ' || o.person_id || ' Ltd'
                when o.k < {changed_bp} and o.k % 5 = 4 then null
                else 'Company ' || o.company_id
            end as company_name,
            case
                when o.k < {changed_bp} and o.k % 5 = 2
                    then 'https://www.linkedin.com/company/company-' || (o.company_id + 1) % {companies}
                when o.k < {changed_bp} and o.k % 5 = 3
                    then 'https://www.linkedin.com/company/newco-' || o.person_id
                when o.k < {changed_bp} and o.k % 5 = 4 then null
                else 'https://www.linkedin.com/company/company-' || o.company_id
            end as company_linkedin_url
        from bench.observed_{job_id} as o
        left join bench.titles as up
            on up.function_id = o.function_id and up.level_id = o.level_id + 1
        join bench.titles as lateral_move
            on lateral_move.function_id = (o.function_id + 1) % {len(FUNCTIONS)}
            and lateral_move.level_id = o.level_id;

        insert into raw_apify.refresh_jobs (job_unique_id, id, status, trigger, total_profiles,
            profiles_completed, items_received, items_landed, actor_id, dataset_id, run_id,
            metadata, run_started_at, run_completed_at, created_at, updated_at)
        select '{job}', {job_id}, 'completed', 'scheduled', count(*), count(*), count(*), count(*),
            'apify~linkedin-profile-scraper', '{dataset}', 'run-{job_id}', '{{}}', now(), now(), now(), now()
        from bench.items_{job_id};

        insert into raw_apify.profile_items (item_key, job_unique_id, run_id, dataset_id,
            item_index, observed_at, loaded_at, linkedin_url, full_name, headline, job_title,
            company_name, company_linkedin_url, item)
        select
            md5('{dataset}' || i.person_id), '{job}', 'run-{job_id}', '{dataset}',
            row_number() over (order by i.person_id) - 1, now(), now(), i.linkedin_url,
            'Person ' || i.person_id, i.job_title || ' at ' || i.company_name, i.job_title,
            i.company_name, i.company_linkedin_url,
            jsonb_build_object('linkedinUrl', i.linkedin_url, 'fullName', 'Person ' || i.person_id,
                'jobTitle', i.job_title, 'companyName', i.company_name,
                'companyLinkedinUrl', i.company_linkedin_url)
        from bench.items_{job_id} as i;
        analyze raw_apify.profile_items;
    """


LEGACY_FUNCTION = """
    create or replace function legacy.detect_title_changes(profiles jsonb) returns integer
    language plpgsql as $$
    declare
        profile jsonb;
        person record;
        changes integer := 0;
    begin
        for profile in select value from jsonb_array_elements(profiles) loop
            select contact_id, title into person
            from legacy.people where linkedin_url = profile ->> 'linkedinUrl';
            if found and person.title is distinct from profile ->> 'jobTitle' then
                insert into legacy.intelligence_b (contact_id, previous_title, new_title, detected_at)
                values (person.contact_id, person.title, profile ->> 'jobTitle', now());
                changes := changes + 1;
            end if;
        end loop;
        return changes;
    end $$;
"""

FLOOR_SQL = """
    insert into legacy.intelligence_c (contact_id, previous_title, new_title, detected_at)
    select people.contact_id, people.title, items.job_title, items.observed_at
    from raw_apify.profile_items as items
    join legacy.people as people on people.linkedin_url = items.linkedin_url
    where items.dataset_id = %s and people.title is distinct from items.job_title
"""


# parts of any set-based answer (see the module docstring): bare SELECTs, nothing written
FLOOR_PARTS = {
    "staging_scan": """
        select count(linkedin_url), count(title_given), count(company_name_given),
            count(company_linkedin_url_given)
        from staging.stg_apify__profile_positions
        where dataset_id = %s and has_name
    """,
    "state_join": """
        select count(*) filter (where states.title is distinct from items.job_title)
        from raw_apify.profile_items as items
        join intermediate.int_person_observation_states as states
            on states.profile_url = items.linkedin_url
        where items.dataset_id = %s
    """,
}


class Dbt:
    """`dbt` in a subprocess with its own target and log dirs (other dbt runs in this
    project must not overwrite run_results.json under us)."""

    def __init__(self, url: str, tmp: Path, threads: int | None = None):
        self.url, self.tmp, self.threads = url, tmp, threads

    def timed(self, *args: str) -> tuple[float, list[dict]]:
        """Run dbt (app.dbt.run_dbt, as the CLI does); its seconds and run_results' results."""
        from app.dbt import run_dbt

        paths = ["--target-path", str(self.tmp / "target"), "--log-path", str(self.tmp / "logs")]
        if self.threads and args[0] == "run":
            paths += ["--threads", str(self.threads)]
        started = time.perf_counter()
        proc = run_dbt([*args, *paths], url=self.url, check=False, capture=True)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            raise RuntimeError(f"dbt {' '.join(args)} failed:\n{proc.stdout[-5000:]}")
        return seconds, json.loads((self.tmp / "target" / "run_results.json").read_text())[
            "results"
        ]

    def __call__(self, *args: str) -> dict:
        seconds, results = self.timed(*args)
        per_model = {
            r["unique_id"].split(".")[-1]: round(r["execution_time"], 3)
            for r in results
            if r["unique_id"].startswith("model.")
        }
        rows = {
            r["unique_id"].split(".")[-1]: r["adapter_response"].get("rows_affected")
            for r in results
            if r["unique_id"].startswith("model.")
        }
        return {
            "command_seconds": round(seconds, 3),
            "model_seconds": round(sum(v for k, v in per_model.items() if k in TABLES), 3),
            "view_seconds": round(sum(v for k, v in per_model.items() if k in VIEWS), 3),
            "per_model_seconds": per_model,
            "rows_affected": rows,
        }


def _reset_detection(url: str, job: str, dbt: Dbt) -> None:
    """Forget what the change-detection models did with ``job``'s observations."""
    # one statement per call: a statement with parameters cannot hold several
    for statement in (
        # published rows first: their ids come back when the keys are handed out again, and
        # people_intelligence would then have nothing to add (an understated round)
        "delete from marketing.people_intelligence where metadata ->> 'refresh_job_id' = %(job)s",
        "delete from keymap.int_intelligence_keys where event_key in ("
        " select event_key from intermediate.int_person_changes where job_unique_id = %(job)s)",
        "delete from intermediate.int_person_changes where job_unique_id = %(job)s",
        "delete from intermediate.int_person_observations where job_unique_id = %(job)s",
    ):
        _sql(url, statement, {"job": job})
    # the states are rebuilt from what is left (not timed)
    dbt("run", "--select", "int_person_observation_states", "--full-refresh")
    for table in ("marketing.people_intelligence", "keymap.int_intelligence_keys",
                  "intermediate.int_person_changes", "intermediate.int_person_observations"):  # fmt: skip
        _sql(url, f"vacuum analyze {table}")


def _median(runs: list[dict], key: str) -> dict:
    ordered = sorted(runs, key=lambda r: r[key])
    return ordered[len(ordered) // 2]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--people", type=int, default=1_000_000)
    p.add_argument("--companies", type=int, default=20_000)
    p.add_argument("--changed", type=float, default=0.05, help="share of people changed")
    p.add_argument(
        "--formatting", type=float, default=0.03, help="share with formatting-only edits"
    )
    p.add_argument("--incremental", type=float, default=0.01, help="share observed again")
    p.add_argument("--title-variety", type=int, default=4, choices=range(1, len(SUFFIXES) + 1),
                   help="region suffixes per title (more distinct titles)")  # fmt: skip
    p.add_argument("--rounds", type=int, default=1, help="rounds of (a), (b), (c) (median)")
    p.add_argument("--threads", type=int, default=None,
                   help="dbt threads of the timed runs (default: the profile's; 1: models one "
                        "after another, so no model's time includes waiting for a core another "
                        "one holds)")  # fmt: skip
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = p.parse_args(argv)

    import psycopg

    from loaders.apify_linkedin.run import ensure_raw_tables as ensure_apify
    from loaders.intake.run import ensure_raw_tables as ensure_intake
    from outreach.warehouse import database_url, mask_url_password

    server_url = database_url()
    name = f"bench_cd_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    url = _with_db(server_url, name)
    report: dict = {
        "database": mask_url_password(url),
        "people": args.people,
        "companies": args.companies,
        "changed_share": args.changed,
        "formatting_share": args.formatting,
        "incremental_share": args.incremental,
        "dbt_threads": args.threads,
    }
    setup: dict = {}
    try:
        with tempfile.TemporaryDirectory() as tmp_dir:
            dbt = Dbt(url, Path(tmp_dir), threads=args.threads)
            t = time.perf_counter()
            ensure_intake(url)
            ensure_apify(url)
            _sql(url, "create schema bench; create schema legacy;")
            _sql(url, _titles_sql())
            _sql(url, _people_sql(args.people, args.companies, args.title_variety))
            setup["land_intake_seconds"] = round(time.perf_counter() - t, 1)
            dbt("seed")
            baseline = dbt("run", "--select", "+people_intelligence", "+people_master")
            setup["baseline_build_seconds"] = baseline["command_seconds"]
            setup["baseline_observations_seconds"] = baseline["per_model_seconds"][
                "int_person_observations"
            ]
            t = time.perf_counter()
            _sql(url, _refresh_sql(1, "bench-refresh-1", "true", "r1", args.changed,
                                   args.formatting, args.companies))  # fmt: skip
            job1 = "04.04.06.00.00000.001"
            _sql(
                url,
                """
                create table legacy.payload as
                select jsonb_agg(jsonb_build_object('linkedinUrl', linkedin_url,
                    'fullName', full_name, 'jobTitle', job_title, 'companyName', company_name)
                    order by item_index) as profiles
                from raw_apify.profile_items where dataset_id = 'bench-refresh-1';
                create table legacy.intelligence_b (contact_id bigint, previous_title text,
                    new_title text, detected_at timestamptz);
                create table legacy.intelligence_c (like legacy.intelligence_b);
                """,
            )
            _sql(url, LEGACY_FUNCTION)
            setup["land_refresh_seconds"] = round(time.perf_counter() - t, 1)
            _, planted_rows = _sql(
                url, "select coalesce(planted, 'unchanged'), count(*) from bench.items_1 group by 1"
            )
            planted = dict(planted_rows)
            report["planted"] = planted
            _, distinct_titles = _sql(url, "select count(distinct title) from raw_intake.people")
            report["distinct_intake_titles"] = distinct_titles[0][0]

            rounds = []
            for n in range(args.rounds):
                if n:
                    _reset_detection(url, job1, dbt)
                a = dbt("run", "--select", *MODELS)
                _, found = _sql(
                    url,
                    "select change_type, count(*) from intermediate.int_person_changes "
                    "where job_unique_id = %s group by 1",
                    (job1,),
                )
                a["changes_found"] = dict(found)
                _sql(url, "truncate legacy.intelligence_b")
                seconds, b_rows = _sql(
                    url, "select legacy.detect_title_changes(profiles) from legacy.payload"
                )
                b = {"seconds": round(seconds, 3), "changes_found": b_rows[0][0]}
                _sql(url, "truncate legacy.intelligence_c")
                seconds, _ = _sql(url, FLOOR_SQL, ("bench-refresh-1",))
                _, c_rows = _sql(url, "select count(*) from legacy.intelligence_c")
                c = {"seconds": round(seconds, 3), "changes_found": c_rows[0][0]}
                floor = {
                    name: round(_sql(url, statement, ("bench-refresh-1",))[0], 3)
                    for name, statement in FLOOR_PARTS.items()
                }
                rounds.append({"a": a, "b": b, "c": c, "floor": floor})

            a = _median([r["a"] for r in rounds], "model_seconds")
            b = _median([r["b"] for r in rounds], "seconds")
            c = _median([r["c"] for r in rounds], "seconds")
            expected = {k: planted.get(k, 0) for k in KINDS}
            a["changes_correct"] = a["changes_found"] == {k: v for k, v in expected.items() if v}
            report["a_models"] = a
            report["b_plpgsql_row_by_row"] = b
            report["c_insert_select_floor"] = c
            report["floor_parts"] = {
                name: _median([r["floor"] for r in rounds], name)[name] for name in FLOOR_PARTS
            }
            report["floor_parts_vs_c"] = {
                name: round(seconds / c["seconds"], 3)
                for name, seconds in report["floor_parts"].items()
            }
            if args.rounds > 1:
                report["each_round_seconds"] = [
                    {"a": r["a"]["model_seconds"], "b": r["b"]["seconds"], "c": r["c"]["seconds"]}
                    for r in rounds
                ]
            report["a_vs_b"] = round(a["model_seconds"] / b["seconds"], 3)
            report["a_vs_c"] = round(a["model_seconds"] / c["seconds"], 3)
            report["a_command_vs_b"] = round(a["command_seconds"] / b["seconds"], 3)

            full = dbt("run", "--select", *MODELS, "--full-refresh")
            report["full_rebuild"] = full

            # people the first refresh saw unchanged (so the planted changes are the only
            # ones), every m-th of them: `--incremental` of all people
            unchanged = 1 - args.changed - args.formatting
            m = max(1, round(unchanged / args.incremental)) if args.incremental > 0 else 100
            first_k = (
                f"abs(hashtext(p.person_id || ':r1')) % 10000 >= {round((1 - unchanged) * 10_000)}"
            )
            _sql(url, _refresh_sql(2, "bench-refresh-2", f"p.person_id % {m} = 0 and {first_k}",
                                   "r2", args.changed, args.formatting, args.companies))  # fmt: skip
            _, inc_planted = _sql(
                url, "select coalesce(planted, 'unchanged'), count(*) from bench.items_2 group by 1"
            )
            incremental = dbt("run", "--select", *MODELS)
            _, found = _sql(
                url,
                "select change_type, count(*) from intermediate.int_person_changes "
                "where job_unique_id = '04.04.06.00.00000.002' group by 1",
            )
            incremental["planted"] = dict(inc_planted)
            incremental["observations"] = sum(incremental["planted"].values())
            incremental["changes_found"] = dict(found)
            incremental["changes_correct"] = incremental["changes_found"] == {
                k: v for k, v in incremental["planted"].items() if k in KINDS and v
            }
            report["incremental"] = incremental
            report["incremental_vs_full_rebuild"] = round(
                incremental["model_seconds"] / full["model_seconds"], 3
            )
            report["incremental_vs_refresh"] = round(
                incremental["model_seconds"] / a["model_seconds"], 3
            )
            report["setup"] = setup
    finally:
        if not args.keep:
            with psycopg.connect(_with_db(server_url, "postgres"), autocommit=True) as conn:
                conn.execute(f'drop database if exists "{name}" with (force)')
    report["goals"] = {
        "a_faster_than_b": report.get("a_vs_b", 99) < 1,
        "a_within_3x_of_c": report.get("a_vs_c", 99) <= 3,
        "incremental_at_most_10pct_of_full": report.get("incremental_vs_full_rebuild", 99) <= 0.1,
    }
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
