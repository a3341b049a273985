"""GDPR tombstones: people erased with ``outreach gdpr erase``, which loaders must drop.

``raw_ops.gdpr_tombstones`` holds one row per erased identifier: its kind (``email`` or
``linkedin_url``) and the sha256 of its normalised form - never the plain value. A loader
reads the hashes once per run (``read_tombstones``) and drops every incoming record that
carries an erased identifier (``record_is_erased``), so a later load of the original file
does not bring the person back.

Normalisation matches the dbt macros: emails are trimmed and lowercased; LinkedIn URLs
become ``https://www.linkedin.com/<in|company|school|showcase>/<slug>`` by
``canonical_linkedin_url``, the one canonical form that tombstones, the erase scan, intake
and the Apify import share with dbt's ``normalize_linkedin_url`` (tests/test_bounded_input.py
feeds both the same variants).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

import psycopg

SCHEMA = "raw_ops"
TABLE = "gdpr_tombstones"
EMAIL = "email"
LINKEDIN_URL = "linkedin_url"

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.{TABLE} (
    kind text not null check (kind in ('{EMAIL}', '{LINKEDIN_URL}')),
    value_sha256 text not null check (value_sha256 ~ '^[0-9a-f]{{64}}$'),
    erased_at timestamptz not null default now(),
    primary key (kind, value_sha256)
);
comment on table {SCHEMA}.{TABLE} is
    'GDPR erasures: sha256 of the normalised email / LinkedIn URL of each erased person '
    '(never the plain value). Loaders drop records carrying one of these.';
"""

# LinkedIn URLs longer than this (stripped) are not read at all, and a canonical URL longer
# than MAX_LINKEDIN_URL is refused: keys built from it must fit a btree index row (2704 bytes)
MAX_LINKEDIN_INPUT = 4096
MAX_LINKEDIN_URL = 1000
# ASCII only (the SQL side must not depend on the database's locale)
_WHITESPACE = " \t\n\r\f\v"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_LINKEDIN = re.compile(
    r"^(?:[a-z]+://)?(?:[a-z0-9-]+\.)*linkedin\.com(?::[0-9]{1,5})?"
    r"/(in|company|school|showcase)/([^/?#\s]+)",
    re.ASCII,
)
_SLUG_TOKEN = re.compile(r"%([0-9a-f]{2})|(.)", re.ASCII | re.DOTALL)
_UNRESERVED = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._~")
# identifiers inside free text (a raw record, a JSON line): candidates, checked by hash
_EMAIL_TOKEN = re.compile(r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9.-]+\.[a-z]{2,63}", re.I)
_LINKEDIN_TOKEN = re.compile(
    r"(?:[a-z]+://)?(?:[a-z0-9-]+\.)*linkedin\.com(?::[0-9]{1,5})?"
    r"/(?:in|company|school|showcase)/[^/?#\s\"',;<>]+",
    re.I,
)


def normalise_email(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip().lower() or None


def _canonical_slug(slug: str) -> str:
    """RFC 3986 percent-encoding normalisation of an (ASCII-lowercased) slug: %XX of an
    unreserved character (letters, digits, ``-._~``) is decoded; every other byte is written
    %xx in lowercase hex (non-ASCII characters as their UTF-8 bytes, a stray ``%`` as %25)."""
    out = []
    for match in _SLUG_TOKEN.finditer(slug):
        hexed, char = match.groups()
        if hexed is not None:
            decoded = chr(int(hexed, 16)).translate(_ASCII_LOWER)
            out.append(decoded if decoded in _UNRESERVED else "%" + hexed)
        elif char in _UNRESERVED:
            out.append(char)
        else:
            out.append("".join(f"%{b:02x}" for b in char.encode("utf-8", "surrogatepass")))
    return "".join(out)


def canonical_linkedin_url(value: Any, max_length: int = MAX_LINKEDIN_URL) -> str | None:
    """The canonical LinkedIn URL ``https://www.linkedin.com/<kind>/<slug>``, None for
    anything else. The same rule as dbt's ``normalize_linkedin_url``:

    ASCII whitespace around it is ignored; ASCII letters are lowercased; any scheme, ``www.``
    or country subdomain (``uk.``), a port, sub-pages (``/details/...``), query, fragment and
    trailing slash are dropped; the slug is percent-decoded where that gives an unreserved
    character (``%2D`` -> ``-``) and every other byte is percent-encoded in lowercase
    (``jürgen`` and ``j%C3%BCrgen`` -> ``j%c3%bcrgen``). Kinds: in, company, school, showcase.
    Longer than MAX_LINKEDIN_INPUT, or a canonical form longer than MAX_LINKEDIN_URL: None.
    """
    if not isinstance(value, str):
        return None
    text = value.strip(_WHITESPACE)
    if len(text) > MAX_LINKEDIN_INPUT:
        return None
    match = _LINKEDIN.match(text.translate(_ASCII_LOWER))
    if match is None:
        return None
    url = f"https://www.linkedin.com/{match.group(1)}/{_canonical_slug(match.group(2))}"
    return url if len(url) <= max_length else None


def linkedin_kind(canonical: str | None) -> str | None:
    """The kind (in, company, school, showcase) of a canonical LinkedIn URL."""
    return canonical.split("/", 4)[3] if canonical else None


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def identifier_hashes(
    emails: Iterable[Any] = (), linkedin_urls: Iterable[Any] = ()
) -> set[tuple[str, str]]:
    """{(kind, sha256)} of the normalisable identifiers given."""
    out = set()
    for e in emails:
        if (n := normalise_email(e)) is not None:
            out.add((EMAIL, sha256(n)))
    for u in linkedin_urls:
        if (n := canonical_linkedin_url(u)) is not None:
            out.add((LINKEDIN_URL, sha256(n)))
    return out


def ensure_table(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('outreach raw_ops ddl'))")
        conn.execute(DDL)


def ensure_raw_tables(database_url: str) -> bool:
    """Create raw_ops.gdpr_tombstones if missing (outreach.raw calls this before dbt)."""
    from outreach.raw import ensure_ddl_tables

    return ensure_ddl_tables(database_url, SCHEMA, {TABLE}, DDL)


def record(conn: psycopg.Connection, hashes: Iterable[tuple[str, str]]) -> int:
    """Add tombstones (inside the caller's transaction); returns how many were new."""
    added = 0
    for kind, digest in sorted(hashes):
        cur = conn.execute(
            f"insert into {SCHEMA}.{TABLE} (kind, value_sha256) values (%s, %s) "
            "on conflict do nothing",
            (kind, digest),
        )
        added += cur.rowcount
    return added


def read_tombstones(database_url: str) -> frozenset[str]:
    """Every erased identifier's hash (empty when nothing was ever erased)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if not conn.execute("select to_regclass(%s)", (f"{SCHEMA}.{TABLE}",)).fetchone()[0]:
            return frozenset()
        return frozenset(r[0] for r in conn.execute(f"select value_sha256 from {SCHEMA}.{TABLE}"))


def text_is_erased(text: str | None, tombstones: frozenset[str]) -> bool:
    """True if the text carries an email address or LinkedIn URL that was erased."""
    if not text or not tombstones:
        return False
    for token in _EMAIL_TOKEN.findall(text):
        if sha256(token.lower()) in tombstones:
            return True
    for token in _LINKEDIN_TOKEN.findall(text):
        url = canonical_linkedin_url(token)
        if url is not None and sha256(url) in tombstones:
            return True
    return False


def record_is_erased(values: Any, tombstones: frozenset[str]) -> bool:
    """True if any value of a record (a dict, list or text) carries an erased identifier."""
    if not tombstones:
        return False
    # non-ASCII as is (an escaped \u00fc would hide a slug from the token pattern)
    text = (
        values if isinstance(values, str) else json.dumps(values, default=str, ensure_ascii=False)
    )
    return text_is_erased(text, tombstones)
