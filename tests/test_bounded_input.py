"""Bounded input (issue 15 item 2): every intake field has a length limit; a longer value is
quarantined (reason value_too_long, naming the field and the limit) and never loaded while
good rows load; and an over-long key that reaches raw by another path (Apify, a hand-made
row) cannot stop the dbt build of the key maps any more.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import psycopg
import pytest

from app.dbt import run_dbt
from loaders.apify_linkedin.run import import_dataset
from loaders.intake import settings as s
from loaders.intake.helpers import build_batch
from loaders.intake.run import load_intake_files

PROFILE = "https://www.linkedin.com/in/"
COMPANY_PAGE = "https://www.linkedin.com/company/"


def quiet(_line: str) -> None:
    pass


def at_limit(field: str, extra: int = 0) -> str:
    """A value of field that is valid and exactly its limit long (plus ``extra`` chars)."""
    n = s.MAX_LENGTH[field] + extra
    if field in ("website_url", "news_url", "company_website"):
        return "https://acme.com/" + "p" * (n - 17)
    if field == "linkedin_url" and extra >= 0:
        return PROFILE + "a" * (n - len(PROFILE))
    if field == "company_linkedin_url":
        return COMPANY_PAGE + "a" * (n - len(COMPANY_PAGE))
    if field == "email":  # labels of at most 63 characters
        return "j" * (1 + extra) + "@" + ("b" * 60 + ".") * 4 + "bbbb." + "com"
    if field == "renewal_month":
        return "3." + "0" * (n - 2)
    if field == "renewal_notice_window_days":
        return "120." + "0" * (n - 4)
    if field == "phone":
        return "+1 " + "5" * (n - 3)
    return "x" * n


def write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


COMPANY_CASES = [f for f in s.COMPANY_FIELDS]
PERSON_CASES = [f for f in s.PERSON_FIELDS]


def test_every_intake_field_has_a_limit():
    assert set(s.MAX_LENGTH) == set(s.COMPANY_FIELDS) | set(s.PERSON_FIELDS) | set(s.DEAL_FIELDS)


@pytest.mark.parametrize("field", COMPANY_CASES)
def test_a_company_value_over_its_limit_is_quarantined_and_one_at_the_limit_loads(field, tmp_path):
    limit = s.MAX_LENGTH[field]
    if field == "linkedin_url":
        at, over = COMPANY_PAGE + "a" * (limit - len(COMPANY_PAGE)), COMPANY_PAGE + "a" * (limit)
    else:
        at, over = at_limit(field), at_limit(field, 1)
    assert len(at) == limit and len(over) > limit
    base = {"company_name": "Acme", "website_url": "acme.com"}
    rows = [
        {**base, "company_name": "Good Co", "website_url": "good.example"},
        {**base, "company_name": "At Limit", "website_url": "at.example", field: at},
        {**base, "company_name": "Too Long", "website_url": "over.example", field: over},
    ]
    if field in ("company_name", "website_url"):
        rows[1][field], rows[2][field] = at, over
    path = write_csv(tmp_path / "companies.csv", list(s.COMPANY_FIELDS), rows)
    batch = build_batch(path, None)

    assert batch.companies.num_rows == 2
    (q,) = batch.quarantine.to_pylist()
    assert (q["source_file"], q["row_number"], q["reason"], q["field"]) == (
        "companies.csv",
        3,
        "value_too_long",
        field,
    )
    assert f"{field} is {len(over)} characters long" in q["detail"]
    assert f"expected at most {limit} characters" in q["detail"]
    # never stored in full, not even in the quarantine
    assert over not in q["raw_record"] and f"[cut: {len(over)} characters]" in q["raw_record"]


@pytest.mark.parametrize("field", PERSON_CASES)
def test_a_person_value_over_its_limit_is_quarantined_and_one_at_the_limit_loads(field, tmp_path):
    limit = s.MAX_LENGTH[field]
    at, over = at_limit(field), at_limit(field, 1)
    if field == "linkedin_url":
        over = PROFILE + "a" * limit
    assert len(at) == limit and len(over) > limit, (len(at), len(over))
    companies = write_csv(
        tmp_path / "companies.csv",
        ["company_name", "website_url"],
        [{"company_name": "Acme", "website_url": "acme.com"}],
    )
    base = {"company_website": "acme.com"}
    rows = [
        {**base, "full_name": "Good Person"},
        {**base, "full_name": "At Limit", field: at},
        {**base, "full_name": "Too Long", field: over},
    ]
    if field == "company_website":
        rows[1][field], rows[2][field] = at, over
    path = write_csv(tmp_path / "people.jsonl.csv", list(s.PERSON_FIELDS), rows)
    batch = build_batch(companies, path)

    assert batch.people.num_rows == 2, batch.quarantine.to_pylist()
    (q,) = batch.quarantine.to_pylist()
    assert (q["entity"], q["row_number"], q["reason"], q["field"]) == (
        "person",
        3,
        "value_too_long",
        field,
    )
    assert f"expected at most {limit} characters" in q["detail"]
    assert over not in q["raw_record"]


def test_a_linkedin_url_whose_canonical_form_is_too_long_is_quarantined(tmp_path):
    companies = write_csv(tmp_path / "c.csv", ["company_name"], [{"company_name": "Acme"}])
    url = "https://www.linkedin.com/in/" + "ü" * 200  # 228 characters, 1228 once encoded
    people = write_csv(
        tmp_path / "p.csv",
        ["full_name", "company_name", "linkedin_url"],
        [{"full_name": "Ünal", "company_name": "Acme", "linkedin_url": url}],
    )
    (q,) = build_batch(companies, people).quarantine.to_pylist()
    assert (q["reason"], q["field"]) == ("value_too_long", "linkedin_url")
    assert "canonical form is longer than 1000 characters" in q["detail"]


def test_percent_encoded_and_other_spellings_of_profile_urls_validate(tmp_path):
    companies = write_csv(
        tmp_path / "c.csv",
        ["company_name", "linkedin_url"],
        [{"company_name": "Acme", "linkedin_url": "https://www.linkedin.com/company/acme"}],
    )
    spellings = [
        "https://www.linkedin.com/in/kwame%2Do%2Dbrien%2D9997",
        "HTTPS://UK.LINKEDIN.COM/IN/KWAME-O-BRIEN-9997/",
        "linkedin.com/in/kwame-o-brien-9997?trk=x#y",
    ]
    people = write_csv(
        tmp_path / "p.csv",
        ["full_name", "linkedin_url", "company_linkedin_url"],
        [
            {
                "full_name": f"K {i}",
                "linkedin_url": u,
                "company_linkedin_url": "linkedin.com/company/%41CME/",
            }
            for i, u in enumerate(spellings)
        ],
    )
    batch = build_batch(companies, people)
    assert batch.quarantine.num_rows == 0, batch.quarantine.to_pylist()
    assert batch.people.num_rows == 3


# ---------------------------------------------------------------------------- warehouse + dbt
KEY_MODELS = "+int_company_keys +int_person_keys +int_person_observations"
MEGABYTE_NAME = "M" * 1_048_576
LONG_SLUG = PROFILE + "s" * 3000


@pytest.fixture(scope="module")
def loaded(warehouse, tmp_path_factory, monkeypatch_module) -> dict:
    folder = tmp_path_factory.mktemp("bounded")
    monkeypatch_module.setenv("OUTREACH_STATE_DIR", str(folder / "state"))
    companies = write_csv(
        folder / "companies.csv",
        ["company_name", "website_url"],
        [
            {"company_name": "Acme", "website_url": "acme.com"},
            {"company_name": MEGABYTE_NAME, "website_url": ""},
        ],
    )
    people = write_csv(
        folder / "people.csv",
        ["full_name", "email", "linkedin_url", "company_name"],
        [
            {
                "full_name": "Jane Roe",
                "email": "jane@acme.com",
                "linkedin_url": PROFILE + "jane-roe",
                "company_name": "Acme",
            },
            {
                "full_name": "Sam Slug",
                "email": "sam@acme.com",
                "linkedin_url": LONG_SLUG,
                "company_name": "Acme",
            },
        ],
    )
    summary = load_intake_files(companies, people, progress=quiet)
    landed = {  # what the load landed (a test below adds rows by other paths)
        "companies": rows(warehouse, "select company_name from raw_intake.companies"),
        "people": rows(warehouse, "select full_name from raw_intake.people"),
        "quarantine": rows(
            warehouse,
            "select source_file, row_number, reason, field, length(raw_record::text) "
            "from raw_intake.quarantine order by entity, row_number",
        ),
    }
    return {"summary": summary, "folder": folder, "url": warehouse, "landed": landed}


def rows(url: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def test_the_megabyte_name_and_the_long_slug_are_quarantined_and_good_rows_load(loaded):
    landed = loaded["landed"]
    assert loaded["summary"].as_dict()["quarantined_by_reason"] == {"value_too_long": 2}
    assert landed["companies"] == [("Acme",)]
    assert landed["people"] == [("Jane Roe",)]
    got = landed["quarantine"]
    assert [g[:4] for g in got] == [
        ("companies.csv", 2, "value_too_long", "company_name"),
        ("people.csv", 2, "value_too_long", "linkedin_url"),
    ]
    assert all(g[4] < 2000 for g in got)  # the long values are cut, not stored


def test_over_long_keys_arriving_by_other_paths_do_not_stop_the_key_map_build(loaded):
    url = loaded["url"]
    folder = loaded["folder"]
    # by hand into raw_intake (no loader checks), and a long slug through an Apify import
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into raw_intake.companies (_row_key, _source_file, _row_number, _loaded_at, "
            "company_name, _extra, _dlt_id, _dlt_load_id) select md5('big'), 'by-hand', 1, now(), "
            "%s, '{}', 'bighand', _dlt_load_id from raw_intake.companies limit 1",
            (MEGABYTE_NAME,),
        )
        conn.execute(
            "insert into raw_intake.people (_row_key, _source_file, _row_number, _loaded_at, "
            "full_name, email, linkedin_url, company_name, _extra, _dlt_id, _dlt_load_id) "
            "select md5('slug'), 'by-hand', 1, now(), %s, %s, %s, 'Acme', '{}', 'slughand', "
            "_dlt_load_id from raw_intake.people limit 1",
            ("N" * 5000, "x" * 3000 + "@acme.com", LONG_SLUG),
        )
    dataset = folder / "dataset.json"
    dataset.write_text(
        json.dumps(
            [
                {
                    "linkedinUrl": LONG_SLUG,
                    "fullName": "Sam Slug",
                    "jobTitle": "CEO",
                    "companyName": "Acme",
                },
                {
                    "linkedinUrl": PROFILE + "jane-roe",
                    "fullName": "Jane Roe",
                    "jobTitle": "CFO",
                    "companyName": "Acme",
                },
            ]
        )
    )
    import_dataset(dataset, observed_at="2026-01-15T00:00:00Z", progress=quiet)
    assert rows(
        url, "select count(*) from raw_apify.profile_items where length(linkedin_url) > 3000"
    ) == [(1,)]

    done = run_dbt(
        ["build", "--indirect-selection", "cautious", "--select", *KEY_MODELS.split()],
        url=url,
        check=False,
        capture=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "assert_no_intake_value_over_its_limit" in done.stdout and "WARN" in done.stdout

    # the good identities got keys; no key is longer than the limits allow
    (longest,) = rows(
        url,
        "select max(length(alias_key)) from (select alias_key from keymap.int_company_keys "
        "union all select alias_key from keymap.int_person_keys) k",
    )
    assert longest[0] < 1100
    aliases = {r[0] for r in rows(url, "select alias_key from keymap.int_person_keys")}
    assert f"li:{PROFILE}jane-roe" in aliases
    observed = {
        r[0] for r in rows(url, "select profile_url from intermediate.int_person_observations")
    }
    assert f"{PROFILE}jane-roe" in observed
    assert max(len(u) for u in observed if u) <= 1000


def test_dbt_and_the_loader_use_the_same_limits(loaded):
    done = run_dbt(
        ["compile", "--quiet", "--inline", "select '{{ tojson(intake_max_lengths()) }}'"],
        url=loaded["url"],
        capture=True,
    )
    text = done.stdout.strip()
    assert json.loads(text[text.index("'") + 1 : text.rindex("'")]) == s.MAX_LENGTH
