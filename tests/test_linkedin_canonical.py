"""One canonical LinkedIn URL: Python (tombstones, erase scans, intake, Apify) and dbt agree.

``outreach.tombstones.canonical_linkedin_url`` and dbt's ``normalize_linkedin_url`` macro
(run as a real SQL query on the warehouse) get the same variant list and must give the
same answer for every one of them.
"""

from __future__ import annotations

import itertools

import psycopg
import pytest

from app.dbt import run_dbt
from outreach.tombstones import MAX_LINKEDIN_URL, canonical_linkedin_url

SCHEMES = [
    "https://",
    "http://",
    "",
    "HTTPS://",
    " https://",
    "ftp://",
    "\thttps://",
    "\x0bv",
    "\x0bhttps://",
]
HOSTS = [
    "www.linkedin.com",
    "linkedin.com",
    "uk.linkedin.com",
    "WWW.LinkedIn.com",
    "linkedin.com:443",
    "notlinkedin.com",
    "www.linkedin.co",
    "de.www.linkedin.com",
]
KINDS = ["/in/", "/company/", "/school/", "/showcase/", "/pub/", "/IN/", "//in/", "/in"]
SLUGS = [
    "kwame-o-brien-9997",
    "kwame%2Do%2Dbrien%2D9997",
    "kwame%2do%2dbrien%2d9997",
    "Kwame-O-Brien-9997",
    "%4B%77ame-o-brien-9997",
    "j%C3%BCrgen",
    "j%c3%bcrgen",
    "jürgen",
    "JÜRGEN",
    "é",
    "a%zz",
    "a%",
    "a%7e%7E~",
    "a%00b",
    "a+b",
    "a%2Fb",
    "x/y",
    "a.b",
    "a?b",
    "a#b",
    "a b",
    "tab\tx",
    "nb\u00a0x",
    "123",
    "dev",
    "vv%76",
    "",
]
TAILS = [
    "",
    "/",
    "/?trk=1",
    "#top",
    "/details/experience/",
    "?",
    " ",
    "//",
    "?utm=A%2DB",
    "\x0b",
    "v",
]


def variants() -> list[str]:
    out = [
        s + h + k + slug + t
        for s, h, k, slug, t in itertools.product(SCHEMES, HOSTS, KINDS, SLUGS, TAILS)
    ]
    # around the length limit (canonical URL of at most MAX_LINKEDIN_URL characters)
    for n in (MAX_LINKEDIN_URL - 29, MAX_LINKEDIN_URL - 28, MAX_LINKEDIN_URL - 27, 3000):
        out += [f"https://www.linkedin.com/in/{'a' * n}", f"linkedin.com/in/{'a' * n}?x=1"]
    out += [f"https://www.linkedin.com/in/{'%C3%BC' * 160}", f"linkedin.com/in/{'ü' * 200}"]
    out += ["https://www.linkedin.com/in/x" + "/y" * 3000, " " * 5000 + "linkedin.com/in/x"]
    return out


@pytest.fixture(scope="module")
def normalized_by_dbt(warehouse) -> dict[str, str | None]:
    urls = variants()
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute("create table public.li_variants (n int primary key, url text)")
        with conn.cursor().copy("copy public.li_variants (n, url) from stdin") as copy:
            for n, url in enumerate(urls):
                copy.write_row((n, url))
    done = run_dbt(
        [
            "compile",
            "--quiet",
            "--inline",
            "select n, {{ normalize_linkedin_url('url') }} as c from public.li_variants",
        ],
        url=warehouse,
        capture=True,
    )
    with psycopg.connect(warehouse, autocommit=True) as conn:
        got = dict(conn.execute(done.stdout.strip()).fetchall())
    return {url: got[n] for n, url in enumerate(urls)}


def test_python_and_dbt_give_the_same_canonical_url_for_every_variant(normalized_by_dbt):
    assert len(normalized_by_dbt) > 50_000
    differ = {
        url: (canonical_linkedin_url(url), sql)
        for url, sql in normalized_by_dbt.items()
        if canonical_linkedin_url(url) != sql
    }
    assert not differ, list(differ.items())[:10]


def test_every_spelling_of_one_profile_has_one_canonical_form(normalized_by_dbt):
    spellings = [
        "https://www.linkedin.com/in/kwame-o-brien-9997",
        "https://www.linkedin.com/in/kwame%2Do%2Dbrien%2D9997",
        "HTTP://UK.LINKEDIN.COM/IN/KWAME-O-BRIEN-9997/",
        "linkedin.com/in/Kwame-O-Brien-9997?trk=public_profile#about",
        "www.linkedin.com:443/in/kwame%2do%2Dbrien-9997/details/experience/",
    ]
    want = "https://www.linkedin.com/in/kwame-o-brien-9997"
    assert {canonical_linkedin_url(u) for u in spellings} == {want}
    for url in spellings:
        if url in normalized_by_dbt:
            assert normalized_by_dbt[url] == want
    assert canonical_linkedin_url("https://www.linkedin.com/in/j%C3%BCrgen") == (
        canonical_linkedin_url("https://www.linkedin.com/in/jürgen")
    )


def test_canonical_form_is_stable_when_applied_again():
    for url in variants():
        once = canonical_linkedin_url(url)
        if once is not None:
            assert canonical_linkedin_url(once) == once, url


def test_over_long_urls_have_no_canonical_form():
    assert canonical_linkedin_url(f"https://www.linkedin.com/in/{'a' * 3000}") is None
    assert canonical_linkedin_url(f"https://www.linkedin.com/in/{'a' * 972}") is not None
    assert canonical_linkedin_url(f"https://www.linkedin.com/in/{'a' * 973}") is None
