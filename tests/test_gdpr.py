"""GDPR export and erasure against a real warehouse: intake, Apify and MillionVerifier data
for a person, every dbt model built, then `outreach gdpr export` and `outreach gdpr erase`.

Done-when (issue 8): after the erasure no table or view in any schema contains the person's
email, name or profile URL, and reloading the original files does not bring them back. A
namesake (same name, other email and profile) is loaded too and must survive untouched.
The tests share one warehouse and run in file order (export, erase, reload)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from app.dbt import run_dbt
from loaders.apify_linkedin.run import import_dataset
from loaders.intake.run import load_intake_files
from loaders.millionverifier.run import verify_emails
from outreach.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures" / "intake"
OUTREACH = str(Path(sys.executable).parent / "outreach")

EMAIL = "Zelda.Quintana@acme.com"
NAME = "Zelda Quintana-Erasmus"
PROFILE = "https://www.linkedin.com/in/zelda-quintana-erasmus/"
# what must not be found anywhere afterwards (lowercase; matched case-insensitively)
NEEDLES = ("zelda.quintana@acme.com", "zelda quintana-erasmus", "zelda-quintana-erasmus")
# another person of the same name: must survive the erasure untouched
NAMESAKE_EMAIL = "zq@globex.com"
NAMESAKE_PROFILE = "https://www.linkedin.com/in/zq-globex"

PEOPLE_CSV = f"""full_name,title,email,phone,linkedin_url,company_name,company_website,company_linkedin_url
{NAME},CEO,{EMAIL},+1 555 0199,{PROFILE},Acme,,
{NAME},CEO,zelda.quintana@acme.com,,,Nowhere Corp,,
{NAME},HR,zelda.quintana@ACME.com,,,Acme,,,an extra value
Jane Roe,CFO,jane@acme.com,,https://www.linkedin.com/in/jane-roe,Acme,,
{NAME},CTO,{NAMESAKE_EMAIL},,{NAMESAKE_PROFILE},Globex,,
Peter Gibbons,Engineer,peter@initech.io,,,"Initech, Inc",,
"""
APIFY_ITEMS = [
    {
        "linkedinUrl": PROFILE,
        "fullName": NAME,
        "headline": "CEO at Acme",
        "jobTitle": "Chief Executive Officer",
        "companyName": "Acme Inc.",
        "companyLinkedinUrl": "https://www.linkedin.com/company/acme",
    },
    {
        "linkedinUrl": "https://www.linkedin.com/in/jane-roe",
        "fullName": "Jane Roe",
        "headline": "CFO at Acme",
        "jobTitle": "Chief Financial Officer",
        "companyName": "Acme Inc.",
        "companyLinkedinUrl": "https://www.linkedin.com/company/acme",
    },
]


def quiet(_line: str) -> None:
    pass


def occurrences(url: str, needles=NEEDLES, namesake: int | None = None) -> dict[str, int]:
    """relation -> rows whose JSON text contains a needle, over every table and view of
    every schema (catalogs aside). Independent of outreach.gdpr on purpose.

    With ``namesake`` (the namesake's contact_id), rows that are the namesake's are not
    counted: those carrying their email or profile, and their key-map aliases."""
    found: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        relations = conn.execute(
            """
            select format('%I.%I', n.nspname, c.relname)
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind in ('r', 'p', 'v', 'm')
              and n.nspname not in ('pg_catalog', 'information_schema')
              and n.nspname not like 'pg\\_%'
            """
        ).fetchall()
        assert len(relations) > 60  # raw, staging, intermediate, keymap, marts
        condition = " or ".join(["strpos(lower(to_jsonb(t)::text), %s) > 0"] * len(needles))
        params: tuple = needles
        if namesake is not None:
            condition = (
                f"({condition}) and strpos(lower(to_jsonb(t)::text), %s) = 0"
                " and strpos(lower(to_jsonb(t)::text), %s) = 0"
            )
            params = (*needles, NAMESAKE_EMAIL, NAMESAKE_PROFILE.rsplit("/", 1)[1])
        for (relation,) in relations:
            sql = f"select count(*) from {relation} t where {condition}"
            extra: tuple = ()
            if namesake is not None and relation == "keymap.int_person_keys":
                sql += " and contact_seq <> %s"
                extra = (namesake,)
            n = conn.execute(sql, (*params, *extra)).fetchone()[0]
            if n:
                found[relation] = n
    return found


def rows(url: str, sql: str, params=()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def cli(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [OUTREACH, *args],
        env={**os.environ, "OUTREACH_DATABASE_URL": url},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def load_everything(url: str, files: dict[str, Path], dlt_dir: Path) -> None:
    load_intake_files(FIXTURES / "companies.csv", files["people"], progress=quiet)
    import_dataset(files["apify"], observed_at="2026-01-15T00:00:00Z", progress=quiet)
    verify_emails([EMAIL, "jane@acme.com"], database_url=url, progress=quiet, pipelines_dir=dlt_dir)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("gdpr")
    people = folder / "people.csv"
    people.write_text(PEOPLE_CSV)
    apify = folder / "dataset.json"
    apify.write_text(json.dumps(APIFY_ITEMS))
    return {"people": people, "apify": apify, "dir": folder}


@pytest.fixture(scope="module")
def built(warehouse, files, monkeypatch_module) -> str:
    monkeypatch_module.setenv("OUTREACH_STATE_DIR", str(files["dir"] / "state"))
    monkeypatch_module.setenv("OUTREACH_TEST_MODE", "true")
    load_everything(warehouse, files, files["dir"] / "dlt")
    run_dbt(["seed", "--quiet"], url=warehouse)
    run_dbt(["run", "--quiet"], url=warehouse)
    return warehouse


@pytest.fixture(scope="module")
def before(built, files) -> dict[str, object]:
    """The state before the erasure, taken once (so no test depends on running first):
    where the person is found, the ids, and the CLI's export of the person."""
    (contact_id,) = rows(built, "select contact_id from people.contact where email = %s", (EMAIL.lower(),))[0]  # fmt: skip
    (namesake,) = rows(built, "select contact_id from people.contact where email = %s", (NAMESAKE_EMAIL,))  # fmt: skip
    out = files["dir"] / "export.json"
    export = cli(built, "gdpr", "export", "--email", EMAIL.upper(), "--out", str(out))
    return {
        "found": occurrences(built),
        "found_but_namesake": occurrences(built, namesake=namesake[0]),
        "contact_id": contact_id,
        "namesake": namesake[0],
        "max_contact_id": rows(built, "select max(contact_id) from people.contact")[0][0],
        "export": export,
        "export_file": out,
    }


@pytest.fixture(scope="module")
def erased(built, before) -> dict[str, object]:
    """``outreach gdpr erase`` of the person, once for the module (after ``before``), and
    what is left right after it (later tests load more)."""
    result = cli(built, "gdpr", "erase", "--email", EMAIL, "--yes")
    return {
        "result": result,
        "found": occurrences(built, namesake=before["namesake"]),
        "names": {r[0] for r in rows(built, "select full_name from people.contact")},
        "namesake_email": rows(
            built, "select email from people.contact where full_name = %s", (NAME,)
        ),  # fmt: skip
        "email_checks": rows(built, "select count(*) from raw_verifier.email_checks")[0][0],
    }


def test_before_erasure_the_person_is_in_raw_keymap_and_marts(before):
    found = before["found"]
    for relation in (
        "raw_intake.people",
        "raw_intake.quarantine",
        "raw_apify.profile_items",
        "raw_verifier.email_checks",
        "keymap.int_person_keys",
        "people.contact",
        "marketing.people_master",
    ):
        assert relation in found, (relation, sorted(found))
    assert before["namesake"] != before["contact_id"]


def test_export_writes_every_row_held_about_the_person_grouped_by_relation(before):
    result = before["export"]
    assert result.returncode == 0, result.stderr
    document = json.loads(before["export_file"].read_text())
    assert document["subject"]["email"] == EMAIL.lower()
    assert document["subject"]["linkedin_urls"] == [PROFILE.rstrip("/")]
    assert document["subject"]["names"] == [NAME]
    relations = document["relations"]
    # where the independent scan finds the person (the namesake's rows aside)
    expected = set(before["found_but_namesake"])
    assert expected <= set(relations), sorted(expected - set(relations))
    assert len(relations["raw_intake.quarantine"]) == 2  # unmatched employer + malformed row
    assert relations["raw_verifier.email_checks"][0]["row"]["email"] == EMAIL.lower()
    people = relations["raw_intake.people"]
    assert [r["row"]["full_name"] for r in people] == [NAME]
    assert set(people[0]["matched"]) == {"email", "linkedin_url", "name"}
    assert relations["people.contact"][0]["row"]["contact_id"] == before["contact_id"]
    # nobody else's rows; the namesake's are only counted
    assert "jane@acme.com" not in json.dumps(relations)
    assert NAMESAKE_EMAIL not in json.dumps(relations)
    assert document["name_only_matches"]["people.contact"] == 1
    assert document["row_count"] == sum(len(v) for v in relations.values())


def test_erase_removes_the_person_from_every_table_and_view_and_prints_no_pii(
    built, before, erased
):
    result = erased["result"]
    assert result.returncode == 0, result.stdout + result.stderr
    printed = (result.stdout + result.stderr).lower()
    assert not any(needle in printed for needle in NEEDLES)
    assert "NOT COMPLETE" not in result.stdout
    assert "usually a namesake" in result.stdout  # the namesake's rows, listed for review
    assert erased["found"] == {}
    # everyone else is still there, the namesake included
    assert {"Jane Roe", "Peter Gibbons"} <= erased["names"]
    assert erased["namesake_email"] == [(NAMESAKE_EMAIL,)]
    assert erased["email_checks"] == 1


def test_the_tombstone_holds_hashes_of_the_normalised_identifiers_only(built, erased):
    tombs = dict(rows(built, "select kind, value_sha256 from raw_ops.gdpr_tombstones"))
    assert tombs == {
        "email": hashlib.sha256(EMAIL.lower().encode()).hexdigest(),
        "linkedin_url": hashlib.sha256(PROFILE.rstrip("/").encode()).hexdigest(),
    }


def test_the_erased_contact_id_stays_reserved_in_the_key_map(built, before, erased):
    seqs = {r[0] for r in rows(built, "select contact_seq from keymap.int_person_keys")}
    assert before["contact_id"] in seqs  # the key is kept (redacted), so never handed out again
    erased = rows(
        built,
        "select alias_key from keymap.int_person_keys where contact_seq = %s",
        (before["contact_id"],),
    )
    assert erased and all(a.startswith("gdpr-erased:") for (a,) in erased)


def test_reloading_the_original_files_does_not_bring_the_person_back(built, files, before, erased):
    summary = load_intake_files(FIXTURES / "companies.csv", files["people"], progress=quiet)
    assert summary.people.gdpr_erased == 3  # good, unmatched-employer and malformed rows
    assert summary.as_dict()["gdpr_erased"] == 3
    import_dataset(files["apify"], observed_at="2026-02-15T00:00:00Z", progress=quiet)
    verify_emails([EMAIL], database_url=built, progress=quiet, pipelines_dir=files["dir"] / "dlt")
    # a new person arrives too: gets a new id, never the erased one
    newcomer = files["dir"] / "newcomer.csv"
    newcomer.write_text("full_name,email,company_name\nNora Newcomer,nora@acme.com,Acme\n")
    load_intake_files(None, newcomer, progress=quiet)
    run_dbt(["run", "--quiet"], url=built)

    assert occurrences(built, namesake=before["namesake"]) == {}
    (nora,) = rows(built, "select contact_id from people.contact where full_name = 'Nora Newcomer'")
    assert nora[0] > before["max_contact_id"] and nora[0] != before["contact_id"]


def test_apify_and_verifier_loads_drop_the_erased_person(built, files, before, erased):
    fresh = files["dir"] / "dataset2.json"  # a new dataset (new fingerprint): not skipped as seen
    items = [
        {**APIFY_ITEMS[0], "headline": "Chair at Acme", "linkedinUrl": PROFILE.upper()},
        {**APIFY_ITEMS[1], "headline": "COO at Acme"},
    ]
    fresh.write_text(json.dumps(items))
    import_dataset(fresh, observed_at="2026-03-15T00:00:00Z", progress=quiet)
    headlines = {r[0] for r in rows(built, "select headline from raw_apify.profile_items")}
    assert "COO at Acme" in headlines and "Chair at Acme" not in headlines

    said: list[str] = []
    summary = verify_emails(
        [EMAIL.upper(), "peter@initech.io"],
        database_url=built,
        progress=said.append,
        pipelines_dir=files["dir"] / "dlt",
    )
    assert summary.requested == 1
    assert any("skipped 1 GDPR-erased address" in line for line in said)
    assert occurrences(built, namesake=before["namesake"]) == {}


def test_export_after_erasure_finds_nothing(built, erased):
    result = cli(built, "gdpr", "export", "--email", EMAIL)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["row_count"] == 0 and document["relations"] == {}


def test_an_address_that_is_not_an_email_is_refused(built, erased):
    result = cli(built, "gdpr", "erase", "--email", "not-an-address", "--yes")
    assert result.returncode == 1 and "is not an email address" in result.stderr
    assert rows(built, "select count(*) from raw_ops.gdpr_tombstones")[0][0] == 2
