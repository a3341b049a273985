"""The profile check history as a current state (issue 18): int_profile_url_check_states is
kept incrementally from the datasets loaded since the last build, int_profile_urls_checked
(a view over it and the datasets loaded since) answers at once after an import, and the
staging tests with ``where: __new_datasets__`` test the datasets a build takes in.

Datasets follow the flat item shape of the published example of
apify/linkedin-profile-scraper (linkedinUrl, fullName, jobTitle, companyName), as
tests/test_queues_and_renewals.py does.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from app.dbt import run_dbt
from loaders.apify_linkedin.run import import_dataset

T0 = datetime(2026, 3, 1, tzinfo=UTC)  # the injected clock: observation times are given
# the models under test, their parents, and the data tests whose parents are all built here
SELECT = ["--select", "+int_profile_urls_checked", "--indirect-selection", "cautious"]
STATES = "intermediate.int_profile_url_check_states"
VIEW = "intermediate.int_profile_urls_checked"


def q(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, params or None)
        return cur.fetchall() if cur.description else []


def dbt(url: str, *args: str, ok: bool = True) -> str:
    proc = run_dbt(list(args), url=url, check=False, capture=True)
    assert (proc.returncode == 0) == ok, proc.stdout[-6000:] + proc.stderr[-2000:]
    return proc.stdout


def profile(slug: str, title: str = "CEO") -> dict:
    return {
        "linkedinUrl": f"https://www.linkedin.com/in/{slug}",
        "fullName": slug.replace("-", " ").title(),
        "jobTitle": title,
        "companyName": "Acme Checks Inc",
    }


@pytest.fixture(scope="module")
def world(warehouse, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("checks")
    counter = iter(range(1000))

    def load(items: list[dict], observed_at: datetime) -> None:
        path = tmp / f"dataset-{next(counter)}.json"
        path.write_text(json.dumps(items))
        import_dataset(path, observed_at=observed_at.isoformat(), database_url=warehouse,
                       progress=lambda _m: None, pipelines_dir=tmp / "dlt")  # fmt: skip

    load([profile("ann-check"), profile("bob-check")], T0)
    dbt(warehouse, "build", *SELECT)
    return {"url": warehouse, "load": load}


def checks(url: str, relation: str) -> dict[str, datetime]:
    return dict(q(url, f"select url, last_checked_at from {relation}"))


def test_checks_follow_new_datasets_at_once_and_a_build_equals_a_full_refresh(world):
    url, load = world["url"], world["load"]
    ann, bob, cy = (f"https://www.linkedin.com/in/{s}-check" for s in ("ann", "bob", "cy"))
    load([profile("ann-check", "CFO"), profile("cy-check")], T0 + timedelta(days=30))
    load([profile("bob-check")], T0 - timedelta(days=10))  # a late import: older observation
    # before any build: the view already has the new datasets, the states do not (this
    # test's profiles; the other test adds its own)
    assert {k: v for k, v in checks(url, VIEW).items() if k in (ann, bob, cy)} == {
        ann: T0 + timedelta(days=30),
        bob: T0,
        cy: T0 + timedelta(days=30),
    }
    assert cy not in checks(url, STATES)
    dbt(url, "build", *SELECT)
    incremental = checks(url, STATES)
    assert incremental == checks(url, VIEW)
    assert incremental[bob] == T0, "a late import never moves a check back"
    dbt(url, "run", "--select", "int_profile_url_check_states", "--full-refresh")
    assert checks(url, STATES) == incremental
    # a build with nothing new changes nothing
    dbt(url, "run", "--select", "int_profile_url_check_states")
    assert checks(url, STATES) == incremental


def test_staging_tests_check_new_datasets_and_all_history_on_request(world):
    url, load = world["url"], world["load"]
    load([profile("dee-check")], T0 + timedelta(days=40))
    tests = ["test", "--select", "stg_apify__profile_items", "--indirect-selection", "cautious"]
    # a row no refresh job landed, in a dataset no build has taken in yet
    q(
        url,
        "insert into raw_apify.profile_items (item_key, job_unique_id, dataset_id, item_index,"
        " observed_at, loaded_at, linkedin_url, full_name, job_title, company_name, item)"
        " values ('planted-bad-row', null, 'planted-dataset', 0, %s, now(),"
        " 'https://www.linkedin.com/in/eve-check', 'Eve Check', 'CEO', 'Acme Checks Inc',"
        " '{}'::jsonb)",
        T0 + timedelta(days=39),
    )
    try:
        assert "not_null_stg_apify__profile_items_job_unique_id" in dbt(url, *tests, ok=False)
        # the dataset is taken in (and tested no more)...
        dbt(url, "run", "--select", "int_profile_url_check_states")
        load([profile("fay-check")], T0 + timedelta(days=41))  # ...and is not the latest
        dbt(url, *tests)
        # the whole history on request
        out = dbt(url, *tests, "--vars", "{test_all_history: true}", ok=False)
        assert "not_null_stg_apify__profile_items_job_unique_id" in out
    finally:
        # what a full refresh without the planted row would hold
        q(url, "delete from raw_apify.profile_items where item_key = 'planted-bad-row'")
        q(url, f"delete from {STATES} where url = 'https://www.linkedin.com/in/eve-check'")
