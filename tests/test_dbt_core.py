"""The core dbt models (intake -> company / people / marketing marts) on a real PostgreSQL.

One warehouse for the module and three builds that every test shares (each dbt run costs
seconds):
  1. first intake load, `dbt build`;
  2. a second load (new companies and people; a LinkedIn URL added to a company first known
     by its domain; a domain added to a company first known by name), `dbt build`;
  3. `dbt build --full-refresh`.
After each build the published ids are captured, so the tests can prove that keys and
Barton IDs never change or get reused.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from app.dbt import run_dbt
from loaders.intake.run import load_intake_files

pytestmark = pytest.mark.slow

BARTON = re.compile(r"^04\.04\.0[0-9]\.[0-9]{2}\.[0-9]{5}\.[0-9]{3}$")

# The published objects this part of the project owns, with DESIGN.md's columns in order.
PUBLISHED_COLUMNS = {
    ("company", "company"): [
        "company_id", "company_name", "ein", "website_url", "linkedin_url", "news_url",
        "address_line1", "address_line2", "city", "state_region", "postal_code", "country",
        "renewal_month", "renewal_notice_window_days", "created_at", "updated_at",
        "last_site_checked_at", "last_linkedin_checked_at", "last_news_checked_at",
    ],
    ("company", "company_slot"): [
        "company_slot_id", "company_id", "role_code", "contact_id", "created_at", "updated_at",
    ],
    ("people", "contact"): [
        "contact_id", "full_name", "title", "email", "phone", "profile_source_url",
        "last_profile_checked_at", "created_at", "updated_at",
    ],
    ("marketing", "company_master"): [
        "company_unique_id", "company_id", "company_name", "website_url", "domain",
        "linkedin_url", "created_at", "updated_at",
    ],
    ("marketing", "people_master"): [
        "unique_id", "contact_id", "full_name", "linkedin_url", "title", "email",
        "company_unique_id", "metadata", "created_at", "updated_at",
    ],
}  # fmt: skip

# Build only these marts and their ancestors (and only tests whose parents are all built):
# other parts of the project read raw schemas that this test does not create.
SELECT = [
    "--select", "+company +company_slot +contact +company_master +people_master",
    "--indirect-selection", "cautious",
]  # fmt: skip


# ------------------------------------------------------------------ data
# Loaded through the real intake loader (the entry point `outreach load intake` calls):
#   companies_1.csv + people_1.csv, then companies_2.csv + people_2.csv. The second load
#   brings Acme again with its LinkedIn page, Umbrella again with a website (renamed),
#   Hooli, Jane again with her profile URL (the same person) and Hank Hill.
FIXTURES = Path(__file__).parent / "fixtures" / "dbt_core"


def query(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def snapshot(url: str) -> dict:
    """Everything the stability tests compare between builds."""
    return {
        "companies": dict(query(url, "select company_name, company_id from company.company")),
        "company_barton": dict(
            query(url, "select company_id, company_unique_id from marketing.company_master")
        ),
        "contacts": dict(query(url, "select full_name, contact_id from people.contact")),
        "people_barton": dict(
            query(url, "select contact_id, unique_id from marketing.people_master")
        ),
        "slots": {
            (name, role): contact
            for name, role, contact in query(
                url,
                """
                select c.company_name, s.role_code, p.full_name
                from company.company_slot as s
                inner join company.company as c on s.company_id = c.company_id
                left join people.contact as p on s.contact_id = p.contact_id
                """,
            )
        },
        "company_keymap": query(url, "select * from keymap.int_company_keys order by alias_key"),
        "person_keymap": query(url, "select * from keymap.int_person_keys order by alias_key"),
    }


@pytest.fixture(scope="module")
def builds(warehouse, tmp_path_factory) -> dict[str, dict]:
    """Run the three builds once for the module; a snapshot after each."""
    paths: list[str] = []  # the target folder tests/conftest.py keeps for this warehouse
    out = {}
    quiet = lambda _msg: None  # noqa: E731
    load_intake_files(FIXTURES / "companies_1.csv", FIXTURES / "people_1.csv", progress=quiet)
    run_dbt(["build", *SELECT, *paths], url=warehouse)
    out["first"] = snapshot(warehouse)

    second = load_intake_files(
        FIXTURES / "companies_2.csv", FIXTURES / "people_2.csv", progress=quiet
    )
    # every row of the second files is new content (none quarantined, none skipped)
    assert [(e.rows, e.new, e.quarantined) for e in second.entities] == [(3, 3, 0), (2, 2, 0)]
    run_dbt(["build", *SELECT, *paths], url=warehouse)
    out["second"] = snapshot(warehouse)

    run_dbt(["build", "--full-refresh", *SELECT, *paths], url=warehouse)
    out["full_refresh"] = snapshot(warehouse)
    return out


# ------------------------------------------------------------------ published objects
def test_published_objects_have_exactly_the_design_columns(builds, warehouse):
    for (schema, table), expected in PUBLISHED_COLUMNS.items():
        columns = [
            name
            for (name,) in query(
                warehouse,
                f"""
                select column_name from information_schema.columns
                where table_schema = '{schema}' and table_name = '{table}'
                order by ordinal_position
                """,
            )
        ]
        assert columns == expected, f"{schema}.{table}"


def test_published_column_types_follow_the_contract(builds, warehouse):
    types = dict(
        query(
            warehouse,
            """
            select table_schema || '.' || table_name || '.' || column_name, data_type
            from information_schema.columns
            where table_schema in ('company', 'people', 'marketing')
            """,
        )
    )
    assert types["company.company.company_id"] == "bigint"
    assert types["company.company.renewal_month"] == "integer"
    assert types["company.company.renewal_notice_window_days"] == "integer"
    assert types["company.company.last_site_checked_at"] == "timestamp with time zone"
    assert types["people.contact.contact_id"] == "bigint"
    assert types["people.contact.last_profile_checked_at"] == "timestamp with time zone"
    assert types["marketing.people_master.metadata"] == "jsonb"


def test_company_attributes_are_normalised_and_defaulted(builds, warehouse):
    rows = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            """
            select m.company_name, m.domain, m.linkedin_url, c.renewal_month,
                   c.renewal_notice_window_days, c.last_site_checked_at
            from marketing.company_master as m
            inner join company.company as c on m.company_id = c.company_id
            """,
        )
    }
    assert rows["Acme, Inc."] == (
        "acme.com",
        "https://www.linkedin.com/company/acme-inc",
        3,
        120,
        None,
    )
    assert rows["Globex Corporation"] == (
        "globex.com", "https://www.linkedin.com/company/globex", None, 90, None,
    )  # fmt: skip
    assert rows["Initech LLC"][0] == "initech.com"


def test_people_master_links_employer_and_keeps_provenance(builds, warehouse):
    rows = {
        r[0]: r[1:]
        for r in query(
            warehouse,
            """
            select p.full_name, m.company_name, p.metadata
            from marketing.people_master as p
            left join marketing.company_master as m on p.company_unique_id = m.company_unique_id
            """,
        )
    }
    assert rows["John Doe"][0] == "Acme, Inc."  # employer given by name "Acme Inc"
    assert rows["Gina Hart"][0] == "Globex Corporation"  # by LinkedIn company page
    assert rows["Hank Hill"][0] == "Hooli"  # by website
    metadata = rows["Jane Roe"][1]
    assert metadata["source_file"] == "people_2.csv"
    assert metadata["employer_as_given"]["company_website"] == "acme.com"


# ------------------------------------------------------------------ Barton IDs and keys
def test_barton_ids_match_the_format_and_are_unique(builds):
    for stage in builds.values():
        for key in ("company_barton", "people_barton"):
            ids = list(stage[key].values())
            assert ids and all(BARTON.match(i) for i in ids), ids
            assert len(set(ids)) == len(ids)
        assert all(i.startswith("04.04.01.") for i in stage["company_barton"].values())
        assert all(i.startswith("04.04.02.") for i in stage["people_barton"].values())
    first = builds["first"]["company_barton"]
    assert first[1] == "04.04.01.00.00000.001"


def test_keys_and_barton_ids_survive_a_new_load(builds):
    first, second = builds["first"], builds["second"]
    for key in ("company_barton", "people_barton"):
        assert {k: second[key][k] for k in first[key]} == first[key]
    assert {n: second["contacts"][n] for n in first["contacts"]} == first["contacts"]
    # Acme first came by domain only, then with its LinkedIn page; Umbrella by name, then
    # with a (renamed) website: both keep their id.
    assert second["companies"]["Acme, Inc."] == first["companies"]["Acme, Inc."]
    assert second["companies"]["Umbrella Corporation"] == first["companies"]["Umbrella Corp"]
    assert len(second["companies"]) == len(first["companies"]) + 1


def test_new_rows_get_new_never_reused_keys(builds):
    first, second = builds["first"], builds["second"]
    old_companies = set(first["companies"].values())
    assert second["companies"]["Hooli"] == max(old_companies) + 1
    old_contacts = set(first["contacts"].values())
    assert second["contacts"]["Hank Hill"] == max(old_contacts) + 1
    assert len(second["contacts"]) == len(first["contacts"]) + 1  # Jane is still one person


def test_full_refresh_renumbers_nothing(builds):
    second, refreshed = builds["second"], builds["full_refresh"]
    for key in ("companies", "company_barton", "contacts", "people_barton", "slots"):
        assert refreshed[key] == second[key], key
    # The key maps are not rebuilt at all (full_refresh=false): same rows, same assigned_at.
    assert refreshed["company_keymap"] == second["company_keymap"]
    assert refreshed["person_keymap"] == second["person_keymap"]


# ------------------------------------------------------------------ slots
def test_every_company_has_exactly_three_slots(builds, warehouse):
    rows = query(
        warehouse,
        """
        select c.company_id, count(s.company_slot_id), count(distinct s.role_code)
        from company.company as c
        left join company.company_slot as s on c.company_id = s.company_id
        group by c.company_id
        """,
    )
    assert rows and all(n == 3 and roles == 3 for _, n, roles in rows)
    ids = query(
        warehouse, "select company_slot_id, company_id, role_code from company.company_slot"
    )
    number = {"CEO": 1, "CFO": 2, "HR": 3}
    assert all(slot_id == company_id * 10 + number[role] for slot_id, company_id, role in ids)


def test_slots_hold_the_right_contacts(builds):
    slots = builds["second"]["slots"]
    # "President" is the CEO; "Vice President, Sales" and "Executive Assistant to the CEO" are not.
    assert slots[("Acme, Inc.", "CEO")] == "Jane Roe"
    assert slots[("Acme, Inc.", "CFO")] == "Carl Finn"
    assert slots[("Acme, Inc.", "HR")] is None
    # Equal patterns (CFO, Chief Financial Officer): the lowest contact_id (bill@ < zed@).
    assert slots[("Globex Corporation", "CFO")] == "Bill Burr"
    assert slots[("Globex Corporation", "HR")] == "Gina Hart"
    assert slots[("Globex Corporation", "CEO")] is None
    # A CEO pattern beats a President with a lower contact_id (amy@ < pat@).
    assert builds["second"]["contacts"]["Amy Ames"] < builds["second"]["contacts"]["Pat Peer"]
    assert slots[("Initech LLC", "CEO")] == "Pat Peer"
    assert slots[("Hooli", "CEO")] == "Hank Hill"
    assert all(slots[("Umbrella Corporation", role)] is None for role in ("CEO", "CFO", "HR"))
