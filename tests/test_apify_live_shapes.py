"""The live loader against the Apify test-mode server in the published actor shapes, through
change detection, scored against the server's own ground truth.

An intake file of tracked people, then the loader's front door (``refresh_profiles`` with
``OUTREACH_TEST_MODE`` and ``APIFY_BASE_URL`` pointing at an ``ApifyTestServer`` on
127.0.0.1, seven items per dataset page) for a baseline month and a month later, each
followed by ``dbt build``. The server serves every profile in one of the published shapes
(``mixed``: flat, harvestapi ``experience[]`` with date objects, dev_fusion
``experiences[]`` with captions and breakdown groups) and knows what it changed
(``simulated_changes``): marketing.people_intelligence must hold exactly those changes -
precision and recall 100 %, so no false left_company from an open ``{"text": "Present"}``
job and no missed job_change / new_company / promotion in any shape.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from psycopg.rows import dict_row
from test_apify_support import apify_test_server, fast

from app.dbt import run_dbt
from loaders.apify_linkedin.helpers import normalize_linkedin_url
from loaders.apify_linkedin.run import refresh_profiles
from loaders.intake.run import load_intake_files
from testing.apify import CHANGE_TYPES, ITEM_SHAPES, roster_from_warehouse

pytestmark = pytest.mark.slow

# seed 52 with these people and this rate gives every change type in every shape
SEED, CHANGE_RATE, PEOPLE = 52, 0.6, 45
COMPANIES = [
    ("Northwind Traders", "northwind-traders"),
    ("Contoso Ltd", "contoso"),
    ("Fabrikam Inc", "fabrikam"),
    ("Tailspin Toys", "tailspin-toys"),
    ("Wingtip Works", "wingtip"),
]
TITLES = [
    "Vice President of Sales",
    "VP Marketing",
    "Head of Finance",
    "Controller",
    "Head of HR",
    "Director of Operations",
    "Account Executive",
    "Marketing Manager",
    "Product Manager",
    "Engineering Manager",
    "Head of Customer Success",
    "Chief Operating Officer",
]
# the event change detection gives each simulated change (title_format: none)
EVENT_OF = {
    "promotion": "promotion",
    "move_tracked": "job_change",
    "move_new": "new_company",
    "departure": "left_company",
}
# the models and their tests (cautious: not the tests that also need models left out)
BUILD = [
    "build",
    "--select",
    "+people_intelligence",
    "+people_master",
    "stg_apify__profile_items",
    "--indirect-selection",
    "cautious",
]


def rows(url: str, sql: str, params: tuple = ()) -> list[dict]:
    with psycopg.connect(url) as conn:
        conn.row_factory = dict_row
        return conn.execute(sql, params).fetchall()


def dbt(url: str, *args: str) -> None:
    proc = run_dbt(list(args), url=url, check=False, capture=True)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
    assert proc.returncode == 0, plain[-6000:] + proc.stderr[-2000:]


def write_intake(tmp) -> tuple:
    companies, people = tmp / "companies.csv", tmp / "people.csv"
    with companies.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["company_name", "website_url", "linkedin_url", "renewal_month"])
        for n, (name, slug) in enumerate(COMPANIES):
            out.writerow(
                [name, f"https://{slug}.example", f"https://www.linkedin.com/company/{slug}", n + 1]
            )
    with people.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            [
                "full_name",
                "title",
                "email",
                "phone",
                "linkedin_url",
                "company_name",
                "company_website",
                "company_linkedin_url",
            ]
        )
        for i in range(PEOPLE):
            name, slug = COMPANIES[i % len(COMPANIES)]
            out.writerow(
                [
                    f"Live Shape{i:03d}",
                    TITLES[i % len(TITLES)],
                    f"person{i}@{slug}.example",
                    "",
                    f"https://www.linkedin.com/in/live-shape-{i:03d}",
                    name,
                    "",
                    f"https://www.linkedin.com/company/{slug}",
                ]
            )
    return companies, people


def events(url: str) -> set[tuple]:
    """(profile URL, change type, previous title, new title, new employer) of every row of
    marketing.people_intelligence."""
    return {
        (
            normalize_linkedin_url(r["linkedin_url"]),
            r["change_type"],
            r["previous_title"],
            r["new_title"],
            (r["metadata"].get("new_employer") or {}).get("company_name"),
        )
        for r in rows(
            url,
            """
            select i.*, p.linkedin_url from marketing.people_intelligence as i
            join marketing.people_master as p on p.unique_id = i.person_unique_id
            """,
        )
    }


@pytest.fixture(scope="module")
def built(warehouse, tmp_path_factory):
    url = warehouse
    tmp = tmp_path_factory.mktemp("live_shapes")
    load_intake_files(*write_intake(tmp), database_url=url, progress=lambda _m: None)
    (loaded_at,) = rows(url, "select max(_loaded_at) as t from raw_intake.people")[0].values()
    mp = pytest.MonkeyPatch()
    roster = roster_from_warehouse(url)
    assert len(roster) == PEOPLE
    out: dict = {"url": url}
    try:
        with apify_test_server(mp, roster=roster, seed=SEED, change_rate=CHANGE_RATE) as server:
            server.configure(max_page_size=7)
            for month, days in ((0, 1), (1, 32)):  # 31 days apart, as in the demo
                server.month = month
                result = refresh_profiles(
                    database_url=url, observed_at=loaded_at + timedelta(days=days), **fast(tmp)
                )
                assert result.ok, result.render()
                dbt(url, *BUILD)
                out[month] = {"result": result, "events": events(url)}
            urls = list(roster)
            out["shapes"] = {u: server.item_shape(u) for u in urls}
            out["truth"] = server.simulated_changes(urls, 1)
            out["pages"] = [r.query.get("offset") for r in server.requests if r.endpoint == "items"]
    finally:
        mp.undo()
    return out


def expected_events(built) -> set[tuple]:
    return {
        (
            url,
            EVENT_OF[e.kind],
            e.previous_title,
            e.new_title,
            e.new_company.name if e.new_company else None,
        )
        for url, changes in built["truth"].items()
        for e in changes
        if e.kind in EVENT_OF
    }


def test_the_ground_truth_covers_every_change_type_in_every_shape(built):
    assert Counter(built["shapes"].values()).keys() == set(ITEM_SHAPES)
    combos = {
        (built["shapes"][url], e.kind) for url, changes in built["truth"].items() for e in changes
    }
    assert combos == {(shape, kind) for shape in ITEM_SHAPES for kind in CHANGE_TYPES}


def test_both_refreshes_went_through_the_loader_in_short_pages(built):
    for month in (0, 1):
        (job,) = built[month]["result"].jobs
        assert job.status == "completed" and job.total_profiles == PEOPLE
        assert job.metadata.get("unparsed_items", 0) == 0
    # 45 items, at most 7 a page: offsets 0, 7, ... 42 per refresh (the client may also
    # look at offset 45, the end)
    pages = [o for o in built["pages"] if o != str(PEOPLE)]
    assert pages == [str(n) for n in range(0, PEOPLE, 7)] * 2


def test_the_baseline_yields_no_event_in_any_shape(built):
    # an open job ({"text": "Present"}, "... - Present · ...") read as ended would be a
    # false left_company here; a misread title or employer a false job change
    assert built[0]["events"] == set()


def test_the_month_later_yields_exactly_the_simulated_changes(built):
    got, expected = built[1]["events"], expected_events(built)
    hits = got & expected
    precision = len(hits) / len(got) if got else 1.0
    recall = len(hits) / len(expected) if expected else 1.0
    assert (precision, recall) == (1.0, 1.0), (
        f"false events: {sorted(got - expected)}; missed: {sorted(expected - got)}"
    )
    assert {e[1] for e in expected} == set(EVENT_OF.values())


def test_staging_read_each_profile_in_the_shape_it_was_served(built):
    url = built["url"]
    staged = rows(
        url,
        """
        select linkedin_url, item_shape, has_current_position
        from staging.stg_apify__profile_items
        where observed_at = (select max(observed_at) from staging.stg_apify__profile_items)
        """,
    )
    assert len(staged) == PEOPLE
    departed = {u for u, changes in built["truth"].items() if changes[-1].kind == "departure"}
    assert departed
    for row in staged:
        assert row["item_shape"] == built["shapes"][row["linkedin_url"]]
        assert row["has_current_position"] is (row["linkedin_url"] not in departed)
