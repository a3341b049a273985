"""The intake loader against a real PostgreSQL: what lands in raw_intake, and what not."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pyarrow as pa
import pytest

from loaders.intake import intake_source
from loaders.intake.helpers import linkedin_urls, normalise_names, website_domains
from loaders.intake.run import IntakeError, intake_pipeline, load_intake_files
from outreach.settings import PROJECT_ROOT

FIXTURES = Path(__file__).parent / "fixtures" / "intake"
COMPANIES_CSV = FIXTURES / "companies.csv"
PEOPLE_CSV = FIXTURES / "people.csv"
COMPANIES_JSONL = FIXTURES / "companies.jsonl"
PEOPLE_JSONL = FIXTURES / "people.jsonl"
TABLES = ("companies", "people", "quarantine")


@pytest.fixture(autouse=True)
def state_dir(server_url, tmp_path, monkeypatch) -> Path:
    """dlt pipeline dirs go to a temporary state dir (after the server URL is known)."""
    monkeypatch.setenv("OUTREACH_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def quiet(_line: str) -> None:
    pass


def rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def table_contents(url: str, table: str) -> list[tuple]:
    """Every column of every row, in a stable order."""
    return rows(url, f"select * from raw_intake.{table} order by _row_key")


def quarantined(url: str) -> set[tuple]:
    return set(rows(url, "select entity, row_number, reason, field from raw_intake.quarantine"))


# ---------------------------------------------------------------------------- CSV
def test_csv_good_rows_load_and_each_bad_row_is_quarantined_with_reason_field_and_row_number(
    fresh_warehouse,
):
    summary = load_intake_files(COMPANIES_CSV, PEOPLE_CSV, progress=quiet)

    companies = rows(
        fresh_warehouse,
        "select _row_number, company_name, website_url, linkedin_url, renewal_month, "
        "renewal_notice_window_days, _source_file from raw_intake.companies order by _row_number",
    )
    assert companies == [
        (1, "Acme Inc.", "https://www.acme.com", "https://www.linkedin.com/company/acme/", 3, 90, "companies.csv"),
        (2, "Globex Corporation", "globex.com", "https://uk.linkedin.com/company/globex?trk=abc", 11, None, "companies.csv"),
        (3, "Initech LLC", "http://initech.io/about", None, None, 120, "companies.csv"),
    ]  # fmt: skip
    people = rows(
        fresh_warehouse,
        "select _row_number, full_name, email from raw_intake.people order by _row_number",
    )
    assert people == [
        (1, "Jane Roe", "jane@acme.com"),
        (2, "John Smith", "john.smith@globex.com"),
        (3, "Peter Gibbons", "peter@initech.io"),
    ]
    assert quarantined(fresh_warehouse) == {
        ("company", 4, "missing_required_field", "company_name"),
        ("company", 5, "invalid_renewal_month", "renewal_month"),
        ("company", 6, "invalid_url", "website_url"),
        ("company", 7, "invalid_url", "linkedin_url"),
        ("company", 8, "invalid_renewal_month", "renewal_month"),
        ("company", 9, "invalid_renewal_window", "renewal_notice_window_days"),
        ("company", 10, "invalid_url", "news_url"),
        ("person", 4, "unmatched_employer", "company_website"),
        ("person", 5, "missing_required_field", "full_name"),
        ("person", 6, "invalid_email", "email"),
        ("person", 7, "invalid_url", "linkedin_url"),
        ("person", 8, "missing_required_field", "company_name"),
        ("person", 9, "unmatched_employer", "company_name"),
    }

    c, p = summary.companies, summary.people
    assert (c.rows, c.loaded, c.new, c.already_present, c.quarantined) == (10, 3, 3, 0, 7)
    assert (p.rows, p.loaded, p.new, p.already_present, p.quarantined) == (9, 3, 3, 0, 6)
    assert summary.quarantined_by_reason == {
        "invalid_email": 1,
        "invalid_renewal_month": 2,
        "invalid_renewal_window": 1,
        "invalid_url": 4,
        "missing_required_field": 3,
        "unmatched_employer": 2,
    }


def test_quarantine_detail_says_what_was_found_and_what_was_expected(fresh_warehouse):
    load_intake_files(COMPANIES_CSV, PEOPLE_CSV, progress=quiet)
    detail = dict(
        ((entity, number), (detail, raw))
        for entity, number, detail, raw in rows(
            fresh_warehouse,
            "select entity, row_number, detail, raw_record from raw_intake.quarantine",
        )
    )
    month, raw = detail[("company", 5)]
    assert "'13'" in month and "expected an integer 1-12" in month
    assert raw["Company_Name"] == "Umbrella Ltd"  # the row as read, header names as given
    assert "'hooli'" in detail[("company", 6)][0] and "bare domain" in detail[("company", 6)][0]
    assert "'not-an-email'" in detail[("person", 6)][0]
    unmatched = detail[("person", 4)][0]
    assert "'nowhere.example'" in unmatched and "'Nowhere Corp'" in unmatched
    assert "raw_intake.companies" in unmatched
    assert "expected at least one of" in detail[("person", 8)][0]


def test_unknown_columns_are_kept_in_extra_and_rows_without_them_get_an_empty_object(
    fresh_warehouse,
):
    load_intake_files(COMPANIES_CSV, None, progress=quiet)
    extras = dict(rows(fresh_warehouse, "select company_name, _extra from raw_intake.companies"))
    assert extras == {
        "Acme Inc.": {"Account Owner": "Dana"},
        "Globex Corporation": {},
        "Initech LLC": {"Account Owner": "Bill"},
    }


def test_column_types_follow_the_contract_and_iso_looking_text_stays_text(fresh_warehouse):
    load_intake_files(COMPANIES_CSV, PEOPLE_CSV, progress=quiet)
    types = {
        (table, column): data_type
        for table, column, data_type in rows(
            fresh_warehouse,
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_intake' and table_name in ('companies', 'people', 'quarantine')",
        )
    }
    text = {"text", "character varying"}
    assert types[("companies", "ein")] in text
    assert types[("companies", "company_name")] in text
    assert types[("companies", "renewal_month")] == "bigint"
    assert types[("companies", "renewal_notice_window_days")] == "bigint"
    assert types[("companies", "_row_number")] == "bigint"
    assert types[("companies", "_loaded_at")] == "timestamp with time zone"
    assert types[("companies", "_extra")] == "jsonb"
    assert types[("people", "company_linkedin_url")] in text
    assert types[("quarantine", "raw_record")] == "jsonb"
    assert types[("quarantine", "row_number")] == "bigint"
    for table in TABLES:
        assert {"_row_key", "_dlt_load_id", "_dlt_id"} <= {c for t, c in types if t == table}
    ein = rows(fresh_warehouse, "select ein from raw_intake.companies where city = 'Austin'")
    assert ein == [("2024-05-06",)]


# ---------------------------------------------------------------------------- JSONL
def test_jsonl_files_load_and_a_malformed_line_is_quarantined_while_the_rest_loads(
    fresh_warehouse,
):
    summary = load_intake_files(COMPANIES_JSONL, PEOPLE_JSONL, progress=quiet)

    companies = rows(
        fresh_warehouse,
        "select _row_number, company_name, website_url, renewal_month, ein, _extra "
        "from raw_intake.companies order by _row_number",
    )
    assert companies == [
        (1, "Stark Industries", "https://stark.com", 6, None, {"tier": "gold", "tags": ["a", "b"]}),
        (2, "Wayne Enterprises", None, 2, None, {}),
        (4, "Tyrell Corp", None, None, "2024-05-06", {}),
        (7, "Oscorp", "oscorp.com", 12, None, {}),
    ]
    people = rows(
        fresh_warehouse,
        "select _row_number, full_name, _extra from raw_intake.people order by _row_number",
    )
    assert people == [
        (1, "Tony Stark", {}),
        (2, "Bruce Wayne", {"skills": {"detective": True}}),
        (3, "Norman Osborn", {}),
    ]
    assert quarantined(fresh_warehouse) == {
        ("company", 3, "malformed_row", None),
        ("company", 5, "malformed_row", None),
        ("company", 8, "invalid_renewal_month", "renewal_month"),
        ("person", 4, "malformed_row", None),
        ("person", 5, "invalid_email", "email"),
        ("person", 6, "unmatched_employer", "company_name"),
    }
    bad_line = rows(
        fresh_warehouse,
        "select detail, raw_record from raw_intake.quarantine where entity = 'person' "
        "and reason = 'malformed_row'",
    )
    assert bad_line == [
        (
            "line is not valid JSON (Expecting value at column 1); expected one JSON object per line",
            {"_line": "not json at all"},
        )
    ]
    assert summary.companies.rows == 7 and summary.people.rows == 6


def test_ndjson_extension_and_a_utf8_bom_are_accepted(fresh_warehouse, tmp_path):
    path = tmp_path / "firms.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + COMPANIES_JSONL.read_bytes())
    summary = load_intake_files(path, None, progress=quiet)
    assert summary.companies.loaded == 4
    assert rows(fresh_warehouse, "select count(*) from raw_intake.companies") == [(4,)]


# ---------------------------------------------------------------------------- employers
def test_people_match_employers_loaded_in_an_earlier_run_by_linkedin_website_and_name(
    fresh_warehouse,
):
    load_intake_files(COMPANIES_CSV, None, progress=quiet)
    summary = load_intake_files(None, PEOPLE_CSV, progress=quiet)

    # Jane: company_linkedin_url https://linkedin.com/company/ACME (Acme: www., trailing /)
    # John: company_website https://www.globex.com/careers (Globex: bare globex.com)
    # Peter: company_name "Initech, Inc" (Initech LLC)
    matched = rows(fresh_warehouse, "select full_name from raw_intake.people order by _row_number")
    assert matched == [("Jane Roe",), ("John Smith",), ("Peter Gibbons",)]
    assert summary.people.by_reason["unmatched_employer"] == 2


def test_each_identity_kind_alone_matches_an_earlier_company(fresh_warehouse, tmp_path):
    load_intake_files(COMPANIES_JSONL, None, progress=quiet)
    people = tmp_path / "people.csv"
    people.write_text(
        "full_name,company_name,company_website,company_linkedin_url\n"
        "By LinkedIn,,,https://de.linkedin.com/company/Wayne-Enterprises?trk=x\n"
        "By Website,,http://WWW.STARK.COM/about,\n"
        "By Name,Oscorp Inc,,\n"
        "By Nothing,Oscorp Industries,stark.io,https://www.linkedin.com/company/oscorp\n",
        encoding="utf-8",
    )
    load_intake_files(None, people, progress=quiet)
    assert rows(fresh_warehouse, "select full_name from raw_intake.people order by 1") == [
        ("By LinkedIn",),
        ("By Name",),
        ("By Website",),
    ]
    assert quarantined(fresh_warehouse) >= {
        ("person", 4, "unmatched_employer", "company_linkedin_url")
    }


# ---------------------------------------------------------------------------- idempotence
def test_reloading_the_same_files_leaves_every_table_identical(fresh_warehouse):
    first = lambda: datetime(2026, 1, 1, tzinfo=UTC)  # noqa: E731
    later = lambda: datetime(2026, 2, 1, tzinfo=UTC)  # noqa: E731  a rewrite would show it
    load_intake_files(COMPANIES_CSV, PEOPLE_CSV, progress=quiet, now=first)
    load_intake_files(COMPANIES_JSONL, PEOPLE_JSONL, progress=quiet, now=first)
    before = {table: table_contents(fresh_warehouse, table) for table in TABLES}
    loaded_at = rows(fresh_warehouse, "select distinct _loaded_at from raw_intake.people")
    assert loaded_at == [(first(),)]

    again = load_intake_files(COMPANIES_CSV, PEOPLE_CSV, progress=quiet, now=later)
    load_intake_files(COMPANIES_JSONL, PEOPLE_JSONL, progress=quiet, now=later)

    after = {table: table_contents(fresh_warehouse, table) for table in TABLES}
    assert after == before
    assert (again.companies.new, again.companies.already_present) == (0, 3)
    assert (again.people.new, again.people.already_present) == (0, 3)
    assert again.companies.quarantined == 7  # still reported, not written again


def test_a_row_repeated_in_a_file_is_loaded_once(fresh_warehouse, tmp_path):
    path = tmp_path / "dupes.csv"
    path.write_text("company_name,city\nAcme,Springfield\nAcme,Springfield\nAcme,Shelbyville\n")
    summary = load_intake_files(path, None, progress=quiet)
    assert (summary.companies.new, summary.companies.already_present) == (2, 1)
    assert rows(fresh_warehouse, "select _row_number from raw_intake.companies order by 1") == [
        (1,),
        (3,),
    ]


def test_the_same_rows_get_the_same_keys_whichever_csv_reader_reads_them(fresh_warehouse, tmp_path):
    # a blank line or a short row sends a file to the row-by-row reader; keys must not change
    plain = tmp_path / "plain.csv"
    plain.write_text('company_name,city,notes\n"Acme\nWest",Springfield,"two\nlines"\nGlobex,,x\n')
    blank = tmp_path / "blank.csv"
    blank.write_text(
        'company_name,city,notes\n"Acme\nWest",Springfield,"two\nlines"\n\nGlobex,,x\nShort\n'
    )
    first = load_intake_files(plain, None, progress=quiet)
    second = load_intake_files(blank, None, progress=quiet)
    assert (first.companies.new, second.companies.new, second.companies.already_present) == (
        2,
        1,
        2,
    )
    assert rows(fresh_warehouse, "select _source_file, _row_number, company_name from raw_intake.companies order by 1, 2") == [
        ("blank.csv", 4, "Short"),
        ("plain.csv", 1, "Acme\nWest"),
        ("plain.csv", 2, "Globex"),
    ]  # fmt: skip


def test_a_run_after_an_interrupted_load_converges_without_duplicates(fresh_warehouse):
    # an earlier run extracted and normalized a package, then died before loading it
    pipeline = intake_pipeline(fresh_warehouse)
    pipeline.extract(intake_source(COMPANIES_CSV, PEOPLE_CSV, known_companies=[], existing_keys={}))
    pipeline.normalize()
    assert pipeline.has_pending_data

    load_intake_files(COMPANIES_CSV, PEOPLE_CSV, progress=quiet)
    load_intake_files(COMPANIES_CSV, PEOPLE_CSV, progress=quiet)

    counts = [rows(fresh_warehouse, f"select count(*), count(distinct _row_key) from raw_intake.{t}")[0] for t in TABLES]  # fmt: skip
    assert counts == [(3, 3), (3, 3), (13, 13)]


def test_the_source_in_a_plain_dlt_pipeline_reads_what_is_loaded_and_skips_it(fresh_warehouse):
    # the way Dagster runs it: files given to intake_source, no counts, no pre-read state
    pipeline = intake_pipeline(fresh_warehouse)
    pipeline.run(intake_source(COMPANIES_CSV))
    pipeline.run(intake_source(people=PEOPLE_CSV))  # employers come from raw_intake
    before = {table: table_contents(fresh_warehouse, table) for table in TABLES}
    pipeline.run(intake_source(COMPANIES_CSV, PEOPLE_CSV))
    assert {table: table_contents(fresh_warehouse, table) for table in TABLES} == before
    assert len(before["people"]) == 3


def test_the_source_without_files_yields_nothing():
    source = intake_source()
    assert sorted(source.resources) == ["companies", "deals", "people", "quarantine"]
    assert list(source) == []


def test_a_deals_file_quarantines_bad_rows_by_field_and_keeps_the_good_ones(tmp_path):
    from loaders.intake.helpers import build_batch

    deals = tmp_path / "deals.jsonl"
    rows = [
        {"deal_id": "D1", "contact_email": "a@x.test", "amount": "10.5", "currency": "usd"},
        {"deal_id": "D2", "contact_id": "12", "closed_won": "Won", "closed_at": "2026-11-30"},
        {"deal_id": "D3", "contact_id": "x12"},
        {"deal_id": "D4", "contact_email": "a@x.test", "amount": "-5", "currency": "USD"},
        {"deal_id": "D5", "contact_email": "a@x.test", "amount": "5", "currency": "US"},
        {"deal_id": "D6", "contact_email": "a@x.test", "amount": "5"},
        {"deal_id": "D7", "contact_email": "a@x.test", "closed_won": "maybe"},
        {"deal_id": "D8", "contact_email": "a@x.test", "closed_at": "2026-02-30"},
        {"deal_id": "D9", "company_name": "Acme"},
        {"contact_email": "a@x.test", "CRM owner": "kim"},
        {"deal_id": "D11", "contact_email": "a@x.test", "closed_at": "2026-11-30T14:00:00Z"},
    ]
    deals.write_text("".join(json.dumps(r) + "\n" for r in rows))
    batch = build_batch(None, None, deals=deals)
    assert batch.deals.column("deal_id").to_pylist() == ["D1", "D2", "D11"]
    got = [
        (r["entity"], r["source_file"], r["row_number"], r["reason"], r["field"])
        for r in batch.quarantine.to_pylist()
    ]
    assert got == [
        ("deal", "deals.jsonl", 3, "invalid_contact_id", "contact_id"),
        ("deal", "deals.jsonl", 4, "invalid_amount", "amount"),
        ("deal", "deals.jsonl", 5, "invalid_currency", "currency"),
        ("deal", "deals.jsonl", 6, "missing_required_field", "currency"),
        ("deal", "deals.jsonl", 7, "invalid_boolean", "closed_won"),
        ("deal", "deals.jsonl", 8, "invalid_date", "closed_at"),
        ("deal", "deals.jsonl", 9, "missing_required_field", "contact_email"),
        ("deal", "deals.jsonl", 10, "missing_required_field", "deal_id"),
    ]
    assert "'2026-02-30'" in batch.quarantine.column("detail")[5].as_py()
    # the same rows again: nothing new (the row keys are already there)
    again = build_batch(
        None,
        None,
        deals=deals,
        existing_keys={"deals": set(batch.deals.column("_row_key").to_pylist())},
    )
    assert again.deals.num_rows == 0 and again.stats[0].already_present == 3


def test_matching_normalises_names_domains_and_linkedin_urls():
    names = ["Acme, Inc.", "A.C.M.E. Corp", "Société Générale SA", "Smith & Co. KG", "Inc", None]
    assert normalise_names(pa.array(names)).to_pylist() == [
        "acme",
        "acme",
        "societe generale",
        "smith",
        "inc",
        None,
    ]
    sites = ["https://www.Acme.com/about?x=1", "acme.co.uk/news", "http://localhost", "ftp://a.com"]
    assert website_domains(pa.array(sites)).to_pylist() == ["acme.com", "acme.co.uk", None, None]
    urls = [
        "https://uk.linkedin.com/company/ACME/about/?trk=1",
        "linkedin.com/company/acme",
        "https://www.linkedin.com/in/jane",
        "https://notlinkedin.com/company/acme",
    ]
    assert linkedin_urls(pa.array(urls), "company").to_pylist() == [
        "https://www.linkedin.com/company/acme",
        "https://www.linkedin.com/company/acme",
        None,
        None,
    ]
    assert linkedin_urls(pa.array(urls), "in").to_pylist()[2] == "https://www.linkedin.com/in/jane"


# ---------------------------------------------------------------------------- fatal problems
def test_a_missing_file_raises_intake_error_naming_it(fresh_warehouse, tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(IntakeError, match=r"nope\.csv: file not found; expected a company file"):
        load_intake_files(missing, None, progress=quiet)


def test_an_unsupported_extension_raises_intake_error(tmp_path):
    path = tmp_path / "companies.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(IntakeError, match=r"companies\.xlsx: unsupported file type '\.xlsx'"):
        load_intake_files(path, None, progress=quiet, database_url="postgresql://unused/x")


def test_a_header_without_any_known_column_raises_intake_error(fresh_warehouse, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("name,mail\nJane,jane@acme.com\n")
    with pytest.raises(IntakeError, match=r"people\.csv: no recognisable columns.*full_name"):
        load_intake_files(None, path, progress=quiet)


def test_an_empty_csv_raises_intake_error(fresh_warehouse, tmp_path):
    path = tmp_path / "companies.csv"
    path.write_text("")
    with pytest.raises(IntakeError, match=r"companies\.csv: empty file, no header row"):
        load_intake_files(path, None, progress=quiet)


def test_a_csv_row_with_more_values_than_the_header_is_quarantined(fresh_warehouse, tmp_path):
    path = tmp_path / "companies.csv"
    path.write_text("company_name,city\n\nAcme,Springfield,oops\nGlobex,Cypress Creek\n")
    load_intake_files(path, None, progress=quiet)
    # the blank line counts as a row number but is not a row
    assert rows(fresh_warehouse, "select _row_number, company_name from raw_intake.companies") == [
        (3, "Globex")
    ]
    assert quarantined(fresh_warehouse) == {("company", 2, "malformed_row", None)}


# ---------------------------------------------------------------------------- CLI
def test_outreach_load_intake_prints_progress_and_the_summary(fresh_warehouse, state_dir):
    env = {**os.environ, "OUTREACH_DATABASE_URL": fresh_warehouse}
    env["OUTREACH_STATE_DIR"] = str(state_dir)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "outreach"),
            "load",
            "intake",
            "--companies",
            str(COMPANIES_CSV),
            "--people",
            str(PEOPLE_CSV),
        ],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "reading companies file" in out and "loading into raw_intake" in out
    lines = out.splitlines()
    company = next(
        line for line in lines if line.startswith("company ") and "companies.csv" in line
    )
    assert company.split()[2:] == ["10", "3", "3", "0", "7"]
    person = next(line for line in lines if line.startswith("person ") and "people.csv" in line)
    assert person.split()[2:] == ["9", "3", "3", "0", "6"]
    assert "quarantined by reason" in out
    assert any("unmatched_employer" in line and line.rstrip().endswith("2") for line in lines)


def test_outreach_load_intake_with_a_missing_file_fails_with_a_message(fresh_warehouse):
    result = subprocess.run(
        [str(Path(sys.executable).parent / "outreach"), "load", "intake", "--people", "gone.jsonl"],
        env={**os.environ, "OUTREACH_DATABASE_URL": fresh_warehouse},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "error: gone.jsonl: file not found" in result.stderr


# ---------------------------------------------------------------------------- scale
@pytest.mark.slow
def test_fifty_thousand_companies_and_people_load_in_seconds(fresh_warehouse, tmp_path):
    n = 50_000
    companies, people = tmp_path / "companies.csv", tmp_path / "people.jsonl"
    with companies.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["company_name", "website_url", "linkedin_url", "renewal_month", "segment"])
        for i in range(n):
            w.writerow([f"Company {i} Inc", f"https://www.company{i}.com", f"https://www.linkedin.com/company/c-{i}", i % 12 + 1, "smb" if i % 2 else ""])  # fmt: skip
    with people.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"full_name": f"Person {i}", "email": f"p{i}@company{i}.com", "company_website": f"company{i}.com"}) + "\n")  # fmt: skip

    started = time.perf_counter()
    summary = load_intake_files(companies, people, progress=quiet)
    seconds = time.perf_counter() - started

    assert (summary.companies.new, summary.people.new) == (n, n)
    assert rows(fresh_warehouse, "select count(*) from raw_intake.people") == [(n,)]
    print(f"\n{2 * n} rows loaded in {seconds:.1f} s")
    assert seconds < 60  # typically a few seconds; generous for a busy CI machine


def test_summary_as_dict_and_render_agree(fresh_warehouse):
    summary = load_intake_files(COMPANIES_CSV, None, progress=quiet)
    data = summary.as_dict()
    assert data["entities"][0] | {"quarantined_by_reason": None} == {
        "entity": "company",
        "file": "companies.csv",
        "rows": 10,
        "loaded": 3,
        "new": 3,
        "already_present": 0,
        "quarantined": 7,
        "quarantined_by_reason": None,
        "gdpr_erased": 0,
    }
    assert data["quarantined_by_reason"]["invalid_url"] == 3
    assert "company  companies.csv" in summary.render()
    json.dumps(data)  # serialisable as is


def test_dlt_sees_one_pipeline_state_per_database(fresh_warehouse, state_dir):
    load_intake_files(COMPANIES_CSV, None, progress=quiet)
    pipelines = list((state_dir / "dlt").iterdir())
    assert len(pipelines) == 1 and fresh_warehouse.rsplit("/", 1)[1] in pipelines[0].name
