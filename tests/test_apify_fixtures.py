"""The published Apify item shapes end to end on a real PostgreSQL: an intake file, then
datasets that follow actors' published output (tests/fixtures/apify/README.md says which)
imported for a baseline month and a month later (what `outreach load apify-linkedin
--from-file` does), then dbt. Each person in intake_people.csv stands for one rule.

- experience[] with date objects (harvestapi): endDate {"text": "Present"} is the current
  job, so the baseline has no false departure, and a move shows as job_change / new_company;
  months as numbers, names ("Dec" after "Nov") or only in the text sort right.
- experiences[] (dev_fusion): title / subtitle "Company · Full-time" / companyLink1 /
  caption "Jan 2020 - Present · 6 yrs", breakdown groups of roles at one company.
- flat (linkedinUrl, fullName, jobTitle, companyName, companyLinkedinUrl).
- an item no staging rule understands lands in raw, is `unparsed`, and is no departure.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from app.dbt import run_dbt
from loaders.apify_linkedin.run import import_dataset
from loaders.intake.run import load_intake_files

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures" / "apify"
SHAPES = ("harvest_experience", "devfusion_experiences", "flat")
BUILD = ["run", "--select", "+people_intelligence", "+people_master", "stg_apify__profile_items"]

# (person, change_type, previous_title, new_title, new employer's name)
EXPECTED_MONTH2 = [
    ("Dora Mover", "job_change", "CTO", "CTO", "Acme Inc."),
    ("Finn Flatmove", "job_change", "CFO", "CFO", "Acme Inc."),
    ("Gwen Group", "promotion", "Director of Sales", "VP Sales", "Acme Inc."),
    ("Jon Jobchange", "job_change", "VP Sales", "VP Sales", "Globex Corporation"),
    ("Lena Left", "left_company", "Controller", None, None),
    ("Nora Newco", "new_company", "Head of HR", "Head of HR", "Brand New Startup Ltd"),
]  # fmt: skip
NO_EVENT = ["Hana Harvest", "Mia Multi", "Tia Text", "Dev Same", "Fay Flat", "Uma Unknown"]


def rows(url: str, sql: str, params: tuple = ()) -> list[dict]:
    with psycopg.connect(url) as conn:
        conn.row_factory = dict_row
        return conn.execute(sql, params).fetchall()


def dbt(url: str, *args: str) -> None:
    proc = run_dbt(list(args), url=url, check=False, capture=True)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
    assert proc.returncode == 0, plain[-6000:] + proc.stderr[-2000:]


def staged(url: str) -> dict[str, dict]:
    """stg_apify__profile_items by person, latest observation."""
    return {
        r["full_name"]: r
        for r in rows(
            url,
            "select * from staging.stg_apify__profile_items order by observed_at, item_index",
        )
    }


def events(url: str) -> list[tuple]:
    return sorted(
        (
            r["full_name"],
            r["change_type"],
            r["previous_title"],
            r["new_title"],
            (r["metadata"].get("new_employer") or {}).get("company_name"),
        )
        for r in rows(
            url,
            """
            select i.*, p.full_name from marketing.people_intelligence as i
            join marketing.people_master as p on p.unique_id = i.person_unique_id
            """,
        )
    )


@pytest.fixture(scope="module")
def built(warehouse, tmp_path_factory):
    url = warehouse
    dlt_dir = tmp_path_factory.mktemp("dlt")
    quiet = lambda _msg: None  # noqa: E731
    load_intake_files(
        FIXTURES / "intake_companies.csv",
        FIXTURES / "intake_people.csv",
        database_url=url,
        progress=quiet,
    )
    (loaded_at,) = rows(url, "select max(_loaded_at) as t from raw_intake.people")[0].values()

    def imported(name: str, observed_at) -> None:
        result = import_dataset(
            FIXTURES / name,
            observed_at=observed_at.isoformat(),
            database_url=url,
            progress=quiet,
            pipelines_dir=dlt_dir,
        )
        assert result.ok, name

    for shape in SHAPES:
        imported(f"{shape}_month1.json", loaded_at + timedelta(days=1))
    dbt(url, "seed")
    dbt(url, *BUILD)
    month1 = {"events": events(url), "staged": staged(url)}
    for shape in SHAPES:
        imported(f"{shape}_month2.json", loaded_at + timedelta(days=31))
    imported("unknown_shape_month2.json", loaded_at + timedelta(days=31))
    dbt(url, *BUILD)
    return {"url": url, "month1": month1, "events": events(url), "staged": staged(url)}


def test_the_baseline_month_yields_no_event_for_any_shape(built):
    # before: endDate {"text": "Present"} was read as ended - a false left_company each
    assert built["month1"]["events"] == []


def test_experience_date_objects_give_the_current_position(built):
    baseline = built["month1"]["staged"]
    got = {
        name: (r["title"], r["company_name"], r["has_current_position"], r["item_shape"])
        for name, r in baseline.items()
    }
    assert got["Hana Harvest"] == ("CFO", "Acme Inc.", True, "experience")
    # two open jobs: the one started later (Dec 2022, not Nov 2022) is the position
    assert got["Mia Multi"] == ("COO", "Globex Corporation", True, "experience")
    # dates only as text ({"text": "Jan 2024"})
    assert got["Tia Text"] == ("Data Engineer", "Initech LLC", True, "experience")
    assert (
        baseline["Hana Harvest"]["company_linkedin_url"] == "https://www.linkedin.com/company/acme"
    )


def test_experiences_captions_and_groups_give_the_current_position(built):
    baseline = built["month1"]["staged"]
    got = {
        name: (r["title"], r["company_name"], r["company_linkedin_url"], r["item_shape"])
        for name, r in baseline.items()
    }
    globex = "https://www.linkedin.com/company/globex"
    assert got["Dev Same"] == ("Head of Finance", "Globex Corporation", globex, "experiences")
    # a breakdown group: the company is the group's title, the role its open sub-role
    assert got["Gwen Group"][:2] == ("Director of Sales", "Acme Inc.")
    assert got["Lena Left"][:2] == ("Controller", "Initech LLC")
    assert got["Fay Flat"] == ("CEO", "Globex Corporation", globex, "flat")


def test_the_month_later_yields_exactly_the_expected_changes(built):
    # the same state observed again, in every shape (NO_EVENT), produced nothing
    assert built["events"] == EXPECTED_MONTH2


def test_moves_name_the_new_employer_and_match_tracked_companies(built):
    url = built["url"]
    companies = {
        r["company_name"]: r["company_unique_id"]
        for r in rows(url, "select * from marketing.company_master")
    }
    intel = {
        r["full_name"]: r
        for r in rows(
            url,
            """
            select i.*, p.full_name from marketing.people_intelligence as i
            join marketing.people_master as p on p.unique_id = i.person_unique_id
            """,
        )
    }
    jon = intel["Jon Jobchange"]["metadata"]
    assert jon["matched_company_unique_id"] == companies["Globex Corporation"]
    dora = intel["Dora Mover"]["metadata"]
    assert dora["matched_company_unique_id"] == companies["Acme Inc."]
    nora = intel["Nora Newco"]["metadata"]
    assert nora["matched_company_unique_id"] is None
    assert nora["new_employer"]["company_linkedin_url"] == (
        "https://www.linkedin.com/company/brand-new-startup"
    )


def test_an_item_no_rule_understands_lands_in_raw_and_is_no_departure(built):
    url = built["url"]
    raw = rows(
        url,
        "select item from raw_apify.profile_items where item ->> 'profileUrl' = %s",
        ("https://www.linkedin.com/in/uma-unknown",),
    )
    assert len(raw) == 1 and raw[0]["item"]["positions"][0]["role"] == "Controller"
    (uma,) = rows(
        url,
        """
        select item_shape, title, company_name, has_current_position
        from staging.stg_apify__profile_items
        where linkedin_url = 'https://www.linkedin.com/in/uma-unknown' and item_shape = 'unparsed'
        """,
    )
    assert uma == {
        "item_shape": "unparsed",
        "title": None,
        "company_name": None,
        "has_current_position": None,
    }
    assert not [e for e in built["events"] if e[0] == "Uma Unknown"]
    (person,) = rows(
        url,
        """
        select p.title, c.company_name from marketing.people_master as p
        left join marketing.company_master as c using (company_unique_id)
        where p.full_name = 'Uma Unknown'
        """,
    )
    assert person == {"title": "Controller", "company_name": "Acme Inc."}


def test_every_fixture_item_lands_once_and_is_staged(built):
    url = built["url"]
    (n,) = rows(url, "select count(*) as n from raw_apify.profile_items")
    files = [f"{s}_month{m}.json" for s in SHAPES for m in (1, 2)] + ["unknown_shape_month2.json"]
    expected = sum(len(json.loads((FIXTURES / f).read_text())) for f in files)
    assert n["n"] == expected
    shapes = rows(
        url,
        "select item_shape, count(*) as n from staging.stg_apify__profile_items"
        " group by item_shape order by item_shape",
    )
    assert {r["item_shape"]: r["n"] for r in shapes} == {
        "experience": 10,
        "experiences": 8,
        "flat": 5,
        "unparsed": 1,
    }
