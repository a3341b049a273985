"""dbt over what the Apify loader landed: staging normalises the item shapes into one row
per observed profile (duplicates and reloads collapse), the published refresh-jobs mart,
and the Python URL rule agreeing with the dbt macro. Also: the token never leaks."""

from __future__ import annotations

import json
import logging
import random

import psycopg
import pytest
from test_apify_support import (
    FIXTURES,
    TOKEN,
    all_warehouse_text,
    apify_test_server,
    fast,
    job_rows,
    people_urls,
    seed_tracked_people,
)

from app.dbt import run_dbt
from loaders.apify_linkedin.helpers import normalize_linkedin_url
from loaders.apify_linkedin.run import import_dataset, refresh_profiles

pytestmark = pytest.mark.slow

MART_COLUMNS = [
    "id",
    "job_unique_id",
    "run_started_at",
    "run_completed_at",
    "total_profiles",
    "profiles_changed",
    "profiles_skipped",
    "status",
    "actor_id",
    "dataset_id",
    "run_id",
    "error_message",
    "metadata",
    "created_at",
    "updated_at",
]


class _Capture(logging.Handler):
    """Every log record of every logger, formatted (dlt, httpx, ours)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _url_cases() -> list[str]:
    rng = random.Random(4)
    cases = [
        "https://www.linkedin.com/in/jane-doe",
        "HTTP://UK.LinkedIn.com/in/Jane-Doe/?trk=x#top",
        "linkedin.com/in/jane-doe/details/experience/",
        "  https://de.linkedin.com/company/acme-gmbh/about ",
        "\thttps://www.linkedin.com/in/tab-led",
        "https://m.linkedin.com/in/j%C3%BCrgen",
        "https://www.linkedin.com/school/mit/",
        "https://www.linkedin.com/showcase/acme-labs?x=1",
        "https://example.com/in/jane-doe",
        "https://www.linkedin.com/feed/",
        "https://linkedin.com.evil.io/in/x",
        "www.linkedin.com/in/a b",
        "linkedin profile pending",
    ]
    pick = {
        "scheme": ["https://", "http://", "", "HTTPS://", "ftp://", " "],
        "sub": ["www.", "", "uk.", "m.", "de.www.", "-.", "www"],
        "host": [
            "linkedin.com",
            "LinkedIn.com",
            "linkedin.co",
            "notlinkedin.com",
            "linkedin.com:443",
        ],
        "kind": ["/in/", "/company/", "/school/", "/pub/", "/IN/", "//in/", "/in"],
        "slug": ["jane-doe", "Ab-9_x", "j%C3%BCrgen", "é", "", "a b", "x/y"],
        "tail": ["", "/", "/?trk=1", "#top", "/details/experience/", "?", " "],
    }
    cases += ["".join(rng.choice(options) for options in pick.values()) for _ in range(300)]
    return [c for c in dict.fromkeys(cases) if c.strip()]


URL_CASES = _url_cases()

# linkedin_refresh_jobs counts each job's people_intelligence rows: build what that needs
# too (with no intake people here, there are none)
SELECT = [
    "stg_apify__profile_positions",
    "stg_apify__profile_items",
    "stg_apify__refresh_jobs",
    "+linkedin_refresh_jobs",
]


@pytest.fixture(scope="module")
def landed(warehouse, tmp_path_factory):
    """A warehouse after a duplicate-laden refresh, a partial one, a failed one and an
    import (twice), then dbt build of the Apify models; captures everything printed."""
    tmp = tmp_path_factory.mktemp("apify_dbt")
    printed: list[str] = []
    log = _Capture()
    root = logging.getLogger()
    level, root.level = root.level, logging.INFO
    root.addHandler(log)
    mp = pytest.MonkeyPatch()
    urls = seed_tracked_people(warehouse, people_urls(12))
    with apify_test_server(mp, seed=21, change_rate=0.5) as server:
        kw = fast(tmp, progress=printed.append)
        server.configure(duplicates=True)
        first = refresh_profiles(database_url=warehouse, **kw)
        server.configure(duplicates=False, dataset="partial", partial_fraction=0.5)
        server.month = 1
        second = refresh_profiles(database_url=warehouse, all_profiles=True, **kw)
        server.configure(dataset="normal", run_status="FAILED")
        third = refresh_profiles(database_url=warehouse, all_profiles=True, **kw)
        # the error body echoes the Authorization header back: our error text must not
        server.configure(
            run_status="SUCCEEDED",
            error_on="start",
            error_echo_auth=True,
            error_count=-1,
            error_status=400,
        )
        fourth = refresh_profiles(database_url=warehouse, all_profiles=True, **kw)
    mp.undo()
    for _ in range(2):
        import_dataset(
            FIXTURES / "dataset_export.json",
            observed_at="2025-06-30",
            database_url=warehouse,
            progress=printed.append,
            pipelines_dir=tmp / "dlt",
        )
    cases_file = tmp / "url_cases.json"
    cases_file.write_text(
        json.dumps(
            [
                {
                    "linkedinUrl": f"https://www.linkedin.com/in/case-{i}",
                    "inputUrl": case,
                    "fullName": "Case",
                }
                for i, case in enumerate(URL_CASES)
            ]
        )
    )
    cases = import_dataset(
        cases_file, database_url=warehouse, progress=printed.append, pipelines_dir=tmp / "dlt"
    )
    # cautious: only tests whose parents are all selected (others' tests of downstream
    # models are not ours to run here)
    build = run_dbt(
        ["build", "--select", *SELECT, "--indirect-selection", "cautious"],
        url=warehouse,
        check=False,
        capture=True,
    )
    printed += [build.stdout, build.stderr]
    root.removeHandler(log)
    root.setLevel(level)
    printed += log.lines
    assert build.returncode == 0, build.stdout[-3000:]
    return {
        "url": warehouse,
        "urls": urls,
        "results": (first, second, third, fourth),
        "url_cases_dataset": cases.jobs[0].dataset_id,
        "printed": "\n".join(printed),
        "files": "\n".join(p.read_text(errors="replace") for p in tmp.rglob("*") if p.is_file()),
    }


def _rows(url: str, sql: str, params: tuple = ()) -> list[dict]:
    with psycopg.connect(url) as conn:
        conn.row_factory = psycopg.rows.dict_row
        return conn.execute(sql, params).fetchall()


def test_refresh_jobs_mart_publishes_every_job_with_the_contract_columns(landed):
    url = landed["url"]
    mart = _rows(url, "select * from marketing.linkedin_refresh_jobs order by id")
    assert list(mart[0]) == MART_COLUMNS
    raw = job_rows(url)
    assert [m["job_unique_id"] for m in mart] == [r["job_unique_id"] for r in raw]
    assert [m["status"] for m in mart] == ["completed", "completed", "failed", "failed"] + [
        "completed"
    ] * 3
    # the tracked people are real (intake loaded, marts built): a job's changed profiles are
    # the changes people_intelligence detected from its data; failed jobs change nothing
    detected = {
        r["job"]: r["n"]
        for r in _rows(
            url,
            "select metadata->>'refresh_job_id' as job, count(*) as n"
            " from marketing.people_intelligence group by 1",
        )
    }
    assert [m["profiles_changed"] for m in mart] == [
        detected.get(m["job_unique_id"], 0) for m in mart
    ]
    assert all(m["profiles_changed"] == 0 for m in mart if m["status"] == "failed")
    for m, r in zip(mart, raw, strict=True):
        for column in (
            "id",
            "total_profiles",
            "profiles_skipped",
            "run_id",
            "dataset_id",
            "error_message",
            "metadata",
        ):
            assert m[column] == r[column]
    types = {
        r["column_name"]: r["data_type"]
        for r in _rows(
            url,
            """
            select column_name, data_type from information_schema.columns
            where table_schema = 'marketing' and table_name = 'linkedin_refresh_jobs'
            """,
        )
    }
    assert types["metadata"] == "jsonb" and types["id"] == "bigint"
    assert types["run_started_at"] == "timestamp with time zone"


def test_mart_shows_a_running_job_without_a_dbt_build(landed):
    url = landed["url"]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("update raw_apify.refresh_jobs set status = 'running' where id = 1")
        try:
            (status,) = conn.execute(
                "select status from marketing.linkedin_refresh_jobs where id = 1"
            ).fetchone()
        finally:
            conn.execute("update raw_apify.refresh_jobs set status = 'completed' where id = 1")
    assert status == "running"


def test_staging_gives_one_row_per_profile_and_dataset_from_every_item_shape(landed):
    url = landed["url"]
    rows = _rows(url, "select * from staging.stg_apify__profile_items")
    per_dataset: dict[str, list[dict]] = {}
    for row in rows:
        per_dataset.setdefault(row["dataset_id"], []).append(row)
    first, second, *_ = landed["results"]
    baseline = per_dataset[first.jobs[0].dataset_id]
    tracked = {normalize_linkedin_url(u) for u in landed["urls"]}
    # duplicates (verbatim and other URL forms) collapse to one row per tracked profile
    assert sorted(r["linkedin_url"] for r in baseline) == sorted(tracked)
    # the published shapes the test server mixes: flat, harvestapi, dev_fusion
    assert {r["item_shape"] for r in baseline} == {"flat", "experience", "experiences"}
    assert all(r["full_name"] and r["title"] and r["company_name"] for r in baseline)
    # profiles missing from the partial dataset have no row; the skipped list names them
    partial = per_dataset[second.jobs[0].dataset_id]
    skipped = {normalize_linkedin_url(u) for u in second.jobs[0].metadata["skipped_urls"]}
    assert skipped and {r["linkedin_url"] for r in partial} == tracked - skipped
    # the imported file landed once although imported twice; its error item is dropped
    imported = [
        rows
        for ds, rows in per_dataset.items()
        if ds.startswith("file-") and ds != landed["url_cases_dataset"]
    ]
    assert len(imported) == 1
    assert sorted(r["full_name"] for r in imported[0]) == [
        "Ada Lovelace",
        "Alan Turing",
        "Grace Hopper",
    ]
    grace = next(r for r in imported[0] if r["full_name"] == "Grace Hopper")
    assert (grace["title"], grace["company_name"]) == ("Senior Consultant", "DEC")


def test_staging_sees_the_simulated_month_changes(landed):
    url = landed["url"]
    first, second, *_ = landed["results"]
    rows = _rows(
        url,
        """
        select b.linkedin_url, b.title as t0, l.title as t1, b.company_name as c0, l.company_name as c1
        from staging.stg_apify__profile_items as b
        join staging.stg_apify__profile_items as l using (linkedin_url)
        where b.dataset_id = %s and l.dataset_id = %s
        """,
        (first.jobs[0].dataset_id, second.jobs[0].dataset_id),
    )
    assert rows and any((r["t0"], r["c0"]) != (r["t1"], r["c1"]) for r in rows)


def test_python_url_rule_agrees_with_the_dbt_macro(landed):
    """Each URL case went in as an item's inputUrl; staging normalised it with the dbt
    macro (input_linkedin_url): the Python rule must give the same answer for every one."""
    rows = _rows(
        landed["url"],
        "select item_index, input_linkedin_url from staging.stg_apify__profile_items "
        "where dataset_id = %s order by item_index",
        (landed["url_cases_dataset"],),
    )
    assert len(rows) == len(URL_CASES)
    from_sql = [r["input_linkedin_url"] for r in rows]
    assert from_sql == [normalize_linkedin_url(case) for case in URL_CASES]
    assert 20 < sum(v is not None for v in from_sql) < len(URL_CASES)  # both outcomes tested


def test_the_token_never_appears_in_output_errors_metadata_or_the_warehouse(landed, tmp_path):
    url = landed["url"]
    fourth = landed["results"][3]
    job = fourth.jobs[0]
    assert job.status == "failed" and "Authorization: Bearer ***" in job.error_message
    assert TOKEN not in landed["printed"]
    assert TOKEN not in all_warehouse_text(url)
    assert TOKEN not in repr(landed["results"])
    assert landed["files"] and TOKEN not in landed["files"]  # dlt's working files
