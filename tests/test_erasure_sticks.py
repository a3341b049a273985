"""Erasure that sticks (issue 15 item 6): dlt working folders keep no copies of loaded rows,
`gdpr erase` sweeps the files under `.outreach/` and says what it could not reach, and a
person erased once does not come back through intake or the Apify import, whichever
spelling of their profile URL a later file uses (percent-encoded, upper case, trailing
slash or query).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import psycopg
import pytest

from loaders.apify_linkedin.run import import_dataset
from loaders.intake.run import load_intake_files
from outreach.gdpr import OUT_OF_REACH, erase_person

pytestmark = pytest.mark.slow

EMAIL = "kwame.obrien@acme.com"
NAME = "Kwame Obrien-Mensah"
PROFILE = "https://www.linkedin.com/in/kwame-o-brien-9997"
VARIANTS = [
    PROFILE,
    "https://www.linkedin.com/in/kwame%2Do%2Dbrien%2D9997",  # percent-encoded
    "HTTPS://WWW.LINKEDIN.COM/IN/KWAME-O-BRIEN-9997",  # upper case
    "http://uk.linkedin.com/in/kwame-o-brien-9997/?trk=public_profile#about",  # slash, query
]
# what must not be found anywhere afterwards (lowercase)
NEEDLES = (
    "kwame.obrien@acme.com",
    "kwame obrien-mensah",
    "kwame-o-brien-9997",
    "kwame%2do%2dbrien",
)
OTHER = "https://www.linkedin.com/in/jane-roe"


def quiet(_line: str) -> None:
    pass


def people_csv(path: Path, urls: list[str], email: bool) -> Path:
    lines = ["full_name,title,email,linkedin_url,company_name"]
    for i, url in enumerate(urls):
        lines.append(f"{NAME},Title {i},{EMAIL if email else ''},{url},Acme")
    lines.append(f"Jane Roe,CFO,jane@acme.com,{OTHER},Acme")
    path.write_text("\n".join(lines) + "\n")
    return path


def dataset(path: Path, urls: list[str], headline: str, other: bool = True) -> Path:
    items = [
        {"linkedinUrl": u, "fullName": NAME, "headline": f"{headline} {i}", "companyName": "Acme"}
        for i, u in enumerate(urls)
    ]
    if other:
        items.append({"linkedinUrl": OTHER, "fullName": "Jane Roe", "headline": headline})
    path.write_text(json.dumps(items))
    return path


def warehouse_hits(url: str) -> dict[str, int]:
    """relation -> rows whose JSON text holds a needle, over every table and view of every
    schema (raw included). Independent of outreach.gdpr on purpose."""
    found = {}
    with psycopg.connect(url, autocommit=True) as conn:
        relations = conn.execute(
            "select format('%I.%I', n.nspname, c.relname) from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r','p','v','m') "
            "and n.nspname not in ('pg_catalog', 'information_schema') "
            "and n.nspname not like 'pg\\_%'"
        ).fetchall()
        condition = " or ".join(["strpos(lower(to_jsonb(t)::text), %s) > 0"] * len(NEEDLES))
        for (relation,) in relations:
            n = conn.execute(f"select count(*) from {relation} t where {condition}", NEEDLES)
            if count := n.fetchone()[0]:
                found[relation] = count
    return found


def file_hits(folder: Path) -> list[str]:
    """Files under folder (gzip ones unpacked) whose bytes hold a needle."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        text = data.decode("utf-8", errors="replace").lower()
        if any(needle in text for needle in NEEDLES):
            found.append(str(path.relative_to(folder)))
    return found


def package_files(state: Path) -> list[str]:
    """Files inside dlt load packages (loaded or pending)."""
    return sorted(
        str(p.relative_to(state))
        for part in ("load/loaded", "load/normalized", "normalize/extracted")
        for p in state.glob(f"dlt/*/*/{part}/**/*")
        if p.is_file()
    )


@pytest.fixture(scope="module")
def world(warehouse, tmp_path_factory, monkeypatch_module) -> dict:
    folder = tmp_path_factory.mktemp("erasure")
    state = folder / "state"
    monkeypatch_module.setenv("OUTREACH_STATE_DIR", str(state))
    monkeypatch_module.setenv("OUTREACH_TEST_MODE", "true")
    companies = folder / "companies.csv"
    companies.write_text("company_name,website_url\nAcme,acme.com\n")
    load_intake_files(companies, people_csv(folder / "people.csv", [PROFILE], True), progress=quiet)
    import_dataset(
        dataset(folder / "d1.json", [PROFILE], "CEO"),
        observed_at="2026-01-15T00:00:00Z",
        progress=quiet,
    )
    loaded = {  # what the loads left, before any erasure
        "warehouse_hits": warehouse_hits(warehouse),
        "package_files": package_files(state),
        "file_hits": file_hits(state),
    }
    return {
        "url": warehouse, "folder": folder, "state": state, "companies": companies,
        "loaded": loaded,
    }  # fmt: skip


def test_successful_loads_leave_no_copies_of_their_rows_in_the_dlt_folders(world):
    loaded = world["loaded"]
    assert loaded["warehouse_hits"]  # the person is in the warehouse ...
    assert loaded["package_files"] == []  # ... but no load package is kept
    assert loaded["file_hits"] == []


@pytest.fixture(scope="module")
def erased(world) -> dict:
    """`erase_person` after an interrupted load left pending packages holding the person."""
    state = world["state"]
    # what an interrupted load leaves: pending packages holding the person in other spellings
    (pipeline,) = state.glob("dlt/*/apify_linkedin")
    pending = pipeline / "load" / "normalized" / "1700000000.1" / "new_jobs"
    pending.mkdir(parents=True)
    (pending / "profile_items.a.0.csv").write_text(f"{VARIANTS[1]},{NAME}\n{OTHER},Jane Roe\n")
    (pending / "profile_items.b.0.insert_values.gz").write_bytes(
        gzip.compress(VARIANTS[2].encode())
    )
    (pending / "profile_items.c.0.csv").write_text(f"{OTHER},Jane Roe\n")
    said: list[str] = []
    summary = erase_person(
        world["url"], EMAIL, linkedin_urls=[VARIANTS[3]], rebuild=False, progress=said.append
    )
    after = {
        "kept": (pending / "profile_items.c.0.csv").exists(),
        "warehouse_hits": warehouse_hits(world["url"]),
        "file_hits": file_hits(state),
    }
    shutil.rmtree(pending.parent)  # not a whole dlt package: the next load would trip on it
    return {"summary": summary, "after": after}


def test_erase_sweeps_state_files_and_reports_what_it_cannot_reach(erased):
    summary, after = erased["summary"], erased["after"]
    assert sorted(Path(p).name for p in summary.files_deleted) == [
        "profile_items.a.0.csv",
        "profile_items.b.0.insert_values.gz",
    ]
    assert after["kept"]  # someone else's rows stay
    assert summary.files_scanned >= 3
    assert summary.not_reached == list(OUT_OF_REACH)
    text = summary.render()
    assert "NOT REACHED" in text and "2 deleted" in text
    assert not any(needle in text.lower() for needle in NEEDLES)  # no PII in the output
    assert after["warehouse_hits"] == {}
    assert after["file_hits"] == []


def test_reloading_the_original_and_three_url_variants_brings_nothing_back(world, erased):
    folder, url = world["folder"], world["url"]
    summary = load_intake_files(
        world["companies"], people_csv(folder / "again.csv", VARIANTS, False), progress=quiet
    )
    assert summary.people.gdpr_erased == len(VARIANTS)
    import_dataset(
        dataset(folder / "d2.json", VARIANTS, "Chair"),
        observed_at="2026-02-15T00:00:00Z",
        progress=quiet,
    )
    # an import that lands nothing (everyone in it is erased) leaves nothing behind either
    import_dataset(
        dataset(folder / "d3.json", VARIANTS[1:], "Chief", other=False),
        observed_at="2026-03-15T00:00:00Z",
        progress=quiet,
    )
    with psycopg.connect(url) as conn:
        headlines = {r[0] for r in conn.execute("select headline from raw_apify.profile_items")}
        people = {r[0] for r in conn.execute("select full_name from raw_intake.people")}
    assert "Chair" in headlines and people == {"Jane Roe"}
    assert warehouse_hits(url) == {}
    assert file_hits(world["state"]) == []
    assert package_files(world["state"]) == []
