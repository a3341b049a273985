"""GDPR requests: export everything held about a person, or erase it.

A person (the *subject*) is named by an email address. Their LinkedIn profile URLs and
names are looked up where the warehouse ties them to that email (raw_intake.people,
people.contact, marketing.people_master; raw_apify.profile_items by URL), plus any given.

Matching is generic, so nothing is missed: every table and view of every schema is scanned
by casting each row to JSON text and matching it (case-insensitively, on word boundaries)
against the email, the LinkedIn URLs (by their ``linkedin.com/in/<slug>`` path) and the
names.

* ``export`` returns one JSON document: the subject, then every matching row grouped by
  relation, each row with the identifiers it matched (``email``, ``linkedin_url``, ``name``).
  Rows that matched only by a name may belong to a namesake: they are counted per relation
  and included only when asked for.
* ``erase``, in one transaction: records tombstones (sha256 of the normalised email and
  LinkedIn URLs, never the values; loaders drop those people from later loads), deletes
  every row that carries the email or a LinkedIn URL from every ``raw_*`` table (with the
  dlt child rows hanging off them) and from every table dbt built; in the persistent
  ``keymap`` tables it keeps the keys (ids are never reused) but overwrites the subject's
  identity forms and redacts them in logged payloads. Then it rebuilds the dbt models
  (``dbt run --full-refresh``; key maps and history logs are ``full_refresh=false`` and
  keep their rows) and scans every table and view again: what still matches is reported.
  It also sweeps the files under ``.outreach/`` it can read (dlt working folders: pending
  load packages, state, traces): a file carrying the email or a LinkedIn URL of the person
  is deleted. What it cannot reach is reported: files it could not read, and copies outside
  the project (the intake files loaded, exports already delivered, backups, the server's
  write-ahead log).

LinkedIn URLs are matched in every spelling of their canonical form
(``tombstones.canonical_linkedin_url``): percent-encoded (``kwame%2Do%2Dbrien``), upper case,
with a query or trailing slash.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from outreach import tombstones

EMAIL, LINKEDIN_URL, NAME = "email", "linkedin_url", "name"
KEYMAP_SCHEMA = "keymap"
REDACTED = "gdpr-erased"
IDENTITY_MAPS = {"int_person_keys", "int_company_keys"}
# run and delivery logs: one row covers many people, so it is redacted, not deleted
RAW_LOGS = {
    "raw_apify.refresh_jobs",
    "raw_verifier.verification_runs",
    "raw_ops.deliveries",
    "raw_linkedin_ads.pulls",
}

Progress = Callable[[str], Any]


class GdprError(RuntimeError):
    """A request could not be carried out (bad email, failed rebuild)."""


def _ere(text: str) -> str:
    """Text as a literal in a PostgreSQL ARE (backslash + non-alphanumeric = that char)."""
    return "".join(c if c.isalnum() or c == " " else "\\" + c for c in text)


_CANONICAL_TOKEN = re.compile(r"((?:%[0-9a-f]{2})+)|(.)", re.DOTALL)


def _encoded(char: str) -> str:
    return "".join(f"%{b:02x}" for b in char.encode("utf-8"))


def _slug_pattern(slug: str) -> str:
    """An ARE (applied with ~*) matching every spelling of a canonical slug: each character
    as itself or percent-encoded (``-`` or ``%2D``), non-ASCII ones also as the character."""
    out = []
    for match in _CANONICAL_TOKEN.finditer(slug):
        encoded, char = match.groups()
        if char is not None:
            out.append(f"(?:{_ere(char)}|{_ere(_encoded(char))})")
            continue
        try:
            decoded = bytes.fromhex(encoded.replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            out.append(_ere(encoded))
            continue
        out.extend(f"(?:{_ere(c)}|{_ere(_encoded(c))})" for c in decoded)
    return "".join(out)


@dataclass
class Subject:
    email: str
    linkedin_urls: set[str] = field(default_factory=set)  # canonical
    names: set[str] = field(default_factory=set)

    def patterns(self) -> list[tuple[str, str]]:
        """(kind, PostgreSQL regex) pairs, applied with ~* to a row's JSON text."""
        # lookarounds, so a match is the identifier alone (regexp_replace keeps the JSON valid)
        out = [(EMAIL, f"(?<![a-z0-9._%+-]){_ere(self.email)}(?![a-z0-9.-])")]
        for url in sorted(self.linkedin_urls):
            kind, slug = url.split("linkedin.com/", 1)[1].split("/", 1)  # in, <slug>
            # any port; the slug in any spelling, not followed by more slug characters
            out.append(
                (
                    LINKEDIN_URL,
                    f"linkedin\\.com(?::[0-9]{{1,5}})?/{_ere(kind)}/{_slug_pattern(slug)}"
                    "(?![a-z0-9%_.~-])",
                )
            )
        for name in sorted(self.names):
            words = [_ere(w) for w in name.split()]
            if words:
                out.append((NAME, f"(?<![[:alnum:]]){'[[:space:]]+'.join(words)}(?![[:alnum:]])"))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "linkedin_urls": sorted(self.linkedin_urls),
            "names": sorted(self.names),
        }


def _combined(patterns: Iterable[tuple[str, str]], kinds: set[str]) -> str | None:
    chosen = [p for kind, p in patterns if kind in kinds]
    return "(" + "|".join(f"({p})" for p in chosen) + ")" if chosen else None


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s)", (relation,)).fetchone()[0] is not None


def _columns(conn: psycopg.Connection, schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(
        "select attname, format_type(atttypid, atttypmod) from pg_attribute "
        "where attrelid = format('%%I.%%I', %s::text, %s::text)::regclass "
        "and attnum > 0 and not attisdropped order by attnum",
        (schema, table),
    )
    return dict(rows.fetchall())


def relations(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """(schema, name, kind) of every table, view and materialized view outside the catalogs."""
    return conn.execute(
        """
        select n.nspname, c.relname,
               case c.relkind when 'v' then 'view' when 'm' then 'matview' else 'table' end
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p', 'v', 'm')
          and n.nspname not in ('pg_catalog', 'information_schema')
          and n.nspname not like 'pg\\_%'
        order by 1, 2
        """
    ).fetchall()


def find_subject(
    conn: psycopg.Connection,
    email: str,
    linkedin_urls: Iterable[str] = (),
    names: Iterable[str] = (),
) -> Subject:
    """The subject of a request: the email, and the profile URLs and names tied to it."""
    normalised = tombstones.normalise_email(email)
    if not normalised or "@" not in normalised:
        raise GdprError(f"{email!r} is not an email address")
    subject = Subject(normalised)
    for url in linkedin_urls:
        canonical = tombstones.canonical_linkedin_url(url)
        if canonical is None:
            raise GdprError(f"{url!r} is not a LinkedIn profile URL")
        subject.linkedin_urls.add(canonical)
    subject.names.update(n.strip() for n in names if n and n.strip())
    by_email = [
        ("raw_intake.people", "full_name", "linkedin_url", "lower(trim(email))"),
        ("people.contact", "full_name", "profile_source_url", "lower(trim(email))"),
        ("marketing.people_master", "full_name", "linkedin_url", "lower(trim(email))"),
    ]
    for relation, name_col, url_col, email_expr in by_email:
        if not _exists(conn, relation):
            continue
        for name, url in conn.execute(
            f"select {name_col}, {url_col} from {relation} where {email_expr} = %s",
            (normalised,),
        ):
            if name and name.strip():
                subject.names.add(" ".join(name.split()))
            if (canonical := tombstones.canonical_linkedin_url(url)) is not None:
                subject.linkedin_urls.add(canonical)
    if subject.linkedin_urls and _exists(conn, "raw_apify.profile_items"):
        for full, first, last, url in conn.execute(
            "select full_name, first_name, last_name, linkedin_url from raw_apify.profile_items "
            "where linkedin_url is not null"
        ):
            if tombstones.canonical_linkedin_url(url) in subject.linkedin_urls:
                name = full or " ".join(p for p in (first, last) if p)
                if name and name.strip():
                    subject.names.add(" ".join(name.split()))
    return subject


def scan(
    conn: psycopg.Connection, subject: Subject, *, kinds: set[str] | None = None
) -> dict[str, Any]:
    """Every row of every relation that matches the subject: {"schema.name": [{matched, row}]}
    (a relation that cannot be read maps to {"error": ...})."""
    patterns = [(k, p) for k, p in subject.patterns() if kinds is None or k in kinds]
    combined = _combined(patterns, {k for k, _ in patterns})
    found: dict[str, Any] = {}
    if combined is None:
        return found
    # patterns travel as parameters (they contain "%", which must not reach the query text)
    matched = sql.SQL(", ").join(sql.SQL("case when j::text ~* %s then %s end") for _ in patterns)
    params = [v for k, p in patterns for v in (p, k)] + [combined]
    for schema, name, _kind in relations(conn):
        query = sql.SQL(
            "select j, array_remove(array[{}]::text[], null) from "
            "(select to_jsonb(t) as j from {}.{} t) x where j::text ~* %s"
        ).format(matched, sql.Identifier(schema), sql.Identifier(name))
        try:
            with conn.transaction():
                rows = conn.execute(query, params).fetchall()
        except psycopg.Error as exc:
            found[f"{schema}.{name}"] = {"error": str(exc).strip()}
            continue
        if rows:
            found[f"{schema}.{name}"] = [
                {"matched": sorted(set(kinds_)), "row": row} for row, kinds_ in rows
            ]
    return found


# ---------------------------------------------------------------------------- export
def export_person(
    database_url: str,
    email: str,
    *,
    linkedin_urls: Iterable[str] = (),
    names: Iterable[str] = (),
    include_name_matches: bool = False,
) -> dict[str, Any]:
    """Everything held about the person, as one JSON-ready document grouped by relation.

    Rows matched by the email or a LinkedIn URL are included in full; rows matched only by
    a name are counted (they may be a namesake's) unless ``include_name_matches``."""
    with psycopg.connect(database_url) as conn:
        conn.execute("set transaction isolation level repeatable read, read only")
        subject = find_subject(conn, email, linkedin_urls, names)
        found = scan(conn, subject)
        conn.rollback()
    relations_out: dict[str, Any] = {}
    name_only: dict[str, int] = {}
    for rel, value in found.items():
        if not isinstance(value, list):
            relations_out[rel] = value
            continue
        strong = [r for r in value if r["matched"] != [NAME]]
        if len(strong) < len(value):
            name_only[rel] = len(value) - len(strong)
        if include_name_matches:
            strong = value
        if strong:
            relations_out[rel] = strong
    rows = {k: v for k, v in relations_out.items() if isinstance(v, list)}
    return {
        "subject": subject.as_dict(),
        "generated_at": datetime.now(UTC).isoformat(),
        "relation_count": len(rows),
        "row_count": sum(len(v) for v in rows.values()),
        "relations": relations_out,
        # rows that carry one of the names but neither the email nor a profile URL: often a
        # namesake, so left out unless asked for (include_name_matches); counted here
        "name_only_matches": name_only,
        "name_only_matches_included": include_name_matches,
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, default=str, sort_keys=False)


# ---------------------------------------------------------------------------- erase
@dataclass
class ErasureSummary:
    subject: Subject
    tombstones_added: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    redacted: dict[str, int] = field(default_factory=dict)
    rebuilt: bool = False
    remaining: dict[str, Any] = field(default_factory=dict)
    files_deleted: list[str] = field(default_factory=list)  # under the state dir, relative
    files_scanned: int = 0
    not_reached: list[str] = field(default_factory=list)
    dry_run: bool = False  # counted what an erasure would do, changed nothing

    @property
    def left_over(self) -> dict[str, Any]:
        """Relations still holding the email or a profile URL (or that could not be read):
        the erasure is incomplete there."""
        out: dict[str, Any] = {}
        for rel, value in self.remaining.items():
            if not isinstance(value, list):
                out[rel] = value
            elif strong := [r for r in value if r["matched"] != [NAME]]:
                out[rel] = strong
        return out

    @property
    def name_only(self) -> dict[str, int]:
        """Rows still carrying one of the names but neither the email nor a profile URL:
        usually a namesake; listed for review."""
        out = {}
        for rel, value in self.remaining.items():
            if isinstance(value, list):
                n = sum(1 for r in value if r["matched"] == [NAME])
                if n:
                    out[rel] = n
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": {
                "email_sha256": tombstones.sha256(self.subject.email),
                "linkedin_urls": len(self.subject.linkedin_urls),
                "names": len(self.subject.names),
            },
            "tombstones_added": self.tombstones_added,
            "deleted": self.deleted,
            "redacted": self.redacted,
            "rebuilt": self.rebuilt,
            "left_over": {
                k: (len(v) if isinstance(v, list) else v) for k, v in self.left_over.items()
            },
            "name_only": self.name_only,
            "files_scanned": self.files_scanned,
            "files_deleted": self.files_deleted,
            "not_reached": self.not_reached,
            "dry_run": self.dry_run,
        }

    def render(self) -> str:
        # no plain identifiers here: this is printed and may end up in logs
        if self.dry_run:
            return self._render_dry_run()
        out = [
            f"GDPR erasure of email sha256 {tombstones.sha256(self.subject.email)[:16]}… "
            f"({len(self.subject.linkedin_urls)} LinkedIn URL(s), "
            f"{len(self.subject.names)} name(s) tied to it)",
            f"tombstones added: {self.tombstones_added}",
        ]
        out += [f"deleted {n:>6}  {rel}" for rel, n in sorted(self.deleted.items())]
        out += [f"redacted {n:>5}  {rel}" for rel, n in sorted(self.redacted.items())]
        if not self.deleted:
            out.append("no rows held the email or a LinkedIn URL of the person")
        out.append("dbt models rebuilt" if self.rebuilt else "dbt models NOT rebuilt")
        if self.left_over:
            out.append("NOT COMPLETE: still holding the email or a profile URL:")
            for rel, v in sorted(self.left_over.items()):
                detail = f"{len(v)} row(s)" if isinstance(v, list) else v
                out.append(f"  {rel}: {detail}")
        if self.name_only:
            out.append("rows that still carry a name of the person, nothing else of theirs")
            out.append("(usually a namesake; review, or erase them by their own email):")
            out += [f"  {rel}: {n} row(s)" for rel, n in sorted(self.name_only.items())]
        if not self.remaining:
            out.append("no table or view matches the person any more")
        out.append(
            f"files under the state dir: {self.files_scanned} scanned, "
            f"{len(self.files_deleted)} deleted (held the email or a profile URL)"
        )
        out += [f"  deleted {path}" for path in self.files_deleted]
        if self.not_reached:
            out.append("NOT REACHED (erase these by hand if they hold the person):")
            out += [f"  {what}" for what in self.not_reached]
        return "\n".join(out)

    def _render_dry_run(self) -> str:
        out = [
            f"DRY RUN, nothing changed: an erasure of email sha256 "
            f"{tombstones.sha256(self.subject.email)[:16]}… "
            f"({len(self.subject.linkedin_urls)} LinkedIn URL(s), "
            f"{len(self.subject.names)} name(s) tied to it) would",
            f"add tombstones: {self.tombstones_added}",
        ]
        out += [f"delete {n:>6}  {rel}" for rel, n in sorted(self.deleted.items())]
        out += [f"redact {n:>6}  {rel}" for rel, n in sorted(self.redacted.items())]
        if not self.deleted:
            out.append("delete nothing: no rows hold the email or a LinkedIn URL of the person")
        out.append(
            f"delete {len(self.files_deleted)} of {self.files_scanned} file(s) under the "
            "state dir (they hold the email or a profile URL)"
        )
        out += [f"  {path}" for path in self.files_deleted]
        out.append("then rebuild the dbt models (dbt run --full-refresh)")
        return "\n".join(out)


def _delete_raw(conn: psycopg.Connection, strong: str, every: str, summary: ErasureSummary) -> None:
    """Delete matching rows from every raw_* table, then the dlt child rows of those; in
    run and delivery logs (RAW_LOGS) redact the identifiers instead of dropping the row."""
    tables = []
    for schema, name, kind in relations(conn):
        if (
            kind != "table"
            or not schema.startswith("raw_")
            or name.startswith("_dlt_")
            or name == tombstones.TABLE
        ):
            continue
        if f"{schema.removesuffix('_staging')}.{name}" in RAW_LOGS:
            _redact_rows(conn, schema, name, strong, every, summary)
        else:
            tables.append((schema, name))
    columns = {t: _columns(conn, *t) for t in tables}
    gone: set[str] = set()
    for schema, name in tables:
        rel = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
        returning = "_dlt_id" if "_dlt_id" in columns[(schema, name)] else "null"
        cur = conn.execute(
            sql.SQL("delete from {} t where to_jsonb(t)::text ~* %s returning {}").format(
                rel, sql.SQL(returning)
            ),
            (strong,),
        )
        ids = [r[0] for r in cur.fetchall()]
        if ids:
            summary.deleted[f"{schema}.{name}"] = len(ids)
            gone.update(i for i in ids if i)
    children = [t for t in tables if "_dlt_parent_id" in columns[t]]
    while gone and children:
        new: set[str] = set()
        for schema, name in children:
            rel = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
            cond = "_dlt_parent_id = any(%s)"
            if "_dlt_root_id" in columns[(schema, name)]:
                cond += " or _dlt_root_id = any(%s)"
            cur = conn.execute(
                sql.SQL("delete from {} where " + cond + " returning _dlt_id").format(rel),
                [list(gone)] * cond.count("%s"),
            )
            ids = [r[0] for r in cur.fetchall()]
            if ids:
                key = f"{schema}.{name}"
                summary.deleted[key] = summary.deleted.get(key, 0) + len(ids)
                new.update(ids)
        gone = new


def _redact_keymap(
    conn: psycopg.Connection, subject: Subject, strong: str, summary: ErasureSummary
) -> None:
    """Key maps keep their keys (never reused) but lose the subject's identifiers."""
    if _exists(conn, "keymap.int_person_keys"):
        cur = conn.execute(
            "update keymap.int_person_keys set alias_key = %s || gen_random_uuid()::text "
            "where contact_seq in (select contact_seq from keymap.int_person_keys t "
            "where to_jsonb(t)::text ~* %s)",
            (f"{REDACTED}:", strong),
        )
        if cur.rowcount:
            summary.redacted["keymap.int_person_keys"] = cur.rowcount
    every = _combined(subject.patterns(), {EMAIL, LINKEDIN_URL, NAME})
    for schema, name, kind in relations(conn):
        # identity maps are handled above by key; a name alias there may be a namesake's
        if schema != KEYMAP_SCHEMA or kind != "table" or name in IDENTITY_MAPS:
            continue
        _redact_rows(conn, schema, name, strong, every, summary)


def _redact_rows(
    conn: psycopg.Connection,
    schema: str,
    name: str,
    strong: str,
    every: str,
    summary: ErasureSummary,
) -> None:
    """In rows carrying the email or a profile URL, overwrite every identifier of the
    subject (names too) in text and jsonb columns; the rows themselves stay."""
    rel = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
    sets = []
    for column, dtype in _columns(conn, schema, name).items():
        col = sql.Identifier(column)
        if dtype in ("jsonb", "json"):
            sets.append(
                sql.SQL("{} = regexp_replace({}::text, %(p)s, %(r)s, 'gi')::" + dtype).format(
                    col, col
                )
            )
        elif dtype == "text" or dtype.startswith("character"):
            sets.append(sql.SQL("{} = regexp_replace({}, %(p)s, %(r)s, 'gi')").format(col, col))
    if not sets:
        return
    cur = conn.execute(
        sql.SQL("update {} t set {} where to_jsonb(t)::text ~* %(strong)s").format(
            rel, sql.SQL(", ").join(sets)
        ),
        {"p": every, "r": REDACTED, "strong": strong},
    )
    if cur.rowcount:
        key = f"{schema}.{name}"
        summary.redacted[key] = summary.redacted.get(key, 0) + cur.rowcount


def _delete_built(conn: psycopg.Connection, strong: str, summary: ErasureSummary) -> None:
    """Rows in tables dbt built (staging, intermediate, marts; not raw, not keymap)."""
    for schema, name, kind in relations(conn):
        if kind != "table" or schema.startswith("raw_") or schema == KEYMAP_SCHEMA:
            continue
        rel = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(name))
        cur = conn.execute(
            sql.SQL("delete from {} t where to_jsonb(t)::text ~* %s").format(rel), (strong,)
        )
        if cur.rowcount:
            summary.deleted[f"{schema}.{name}"] = cur.rowcount


# outside the project or the warehouse's reach: always reported by an erasure
OUT_OF_REACH = (
    "the intake and dataset files the data was loaded from (outside the project)",
    "exports and webhook deliveries already sent (PLE, alerts)",
    "backups and copies of the warehouse or of .outreach/",
    "the database server's write-ahead log and archives (dead rows are vacuumed)",
)
# files the sweep reads in chunks this big, overlapping so no identifier is cut in two
_CHUNK = 4 << 20
_OVERLAP = 8 << 10


def _file_holds(path: Path, hashes: frozenset[str]) -> bool:
    """True if the file (gzip-compressed or not) carries one of the identifier hashes."""
    with path.open("rb") as raw:
        magic = raw.read(2)
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if magic == b"\x1f\x8b" else raw
        tail = ""
        while chunk := stream.read(_CHUNK):
            text = tail + chunk.decode("utf-8", errors="replace")
            if tombstones.text_is_erased(text, hashes):
                return True
            tail = text[-_OVERLAP:]
    return False


def erase_state_files(
    subject: Subject, state_dir: Path, *, skip: Iterable[Path] = (), delete: bool = True
) -> tuple[int, list[str], list[str]]:
    """Delete every file under ``state_dir`` (dlt working folders and the rest) that holds
    the subject's email or a LinkedIn URL in any spelling. Directories in ``skip`` (the
    embedded server's data directory: the warehouse, erased through SQL) are left out.
    Returns (files scanned, files deleted, what could not be read) with paths relative to
    ``state_dir``; with ``delete=False`` the files that would be deleted, left in place."""
    hashes = frozenset(
        h for _, h in tombstones.identifier_hashes([subject.email], subject.linkedin_urls)
    )
    skipped = {Path(p).resolve() for p in skip}
    scanned, deleted, unreadable = 0, [], []
    if not state_dir.is_dir():
        return scanned, deleted, unreadable

    def on_error(exc: OSError) -> None:
        unreadable.append(f"{exc.filename}: {exc.strerror}")

    for folder, dirs, files in os.walk(state_dir, onerror=on_error):
        here = Path(folder)
        dirs[:] = [d for d in dirs if (here / d).resolve() not in skipped]
        for name in files:
            path = here / name
            if path.is_symlink() or not path.is_file() or path.suffix == ".lock":
                continue
            relative = str(path.relative_to(state_dir))
            scanned += 1
            try:
                holds = _file_holds(path, hashes)
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                unreadable.append(f"{relative}: {getattr(exc, 'strerror', None) or exc}")
                continue
            if holds and not delete:
                deleted.append(relative)
            elif holds:
                try:
                    path.unlink()
                    deleted.append(relative)
                except OSError as exc:
                    unreadable.append(f"{relative}: holds the person, not deleted ({exc.strerror})")
    return scanned, deleted, unreadable


def _vacuum(database_url: str, relations_: Iterable[str]) -> None:
    """VACUUM the tables rows were deleted from, so the dead rows leave the data files."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for rel in sorted(relations_):
            schema, name = rel.split(".", 1)
            try:
                conn.execute(
                    sql.SQL("vacuum {}.{}").format(sql.Identifier(schema), sql.Identifier(name))
                )
            except psycopg.errors.UndefinedTable:
                continue


def erase_person(
    database_url: str,
    email: str,
    *,
    linkedin_urls: Iterable[str] = (),
    names: Iterable[str] = (),
    rebuild: bool = True,
    progress: Progress = print,
    state_dir: Path | None = None,
    dry_run: bool = False,
    run_dbt: Callable[..., Any] | None = None,
) -> ErasureSummary:
    """Erase the person (see the module docstring); returns what was done and what remains.
    ``state_dir`` is the folder whose files are swept (default: the settings' state dir).
    ``run_dbt`` runs the rebuild (default ``outreach.dbt.run_dbt``; the CLI passes
    ``app.dbt.run_dbt``, which also ensures the raw tables and reports to Dagster).
    ``dry_run``: the same statements in a transaction that is rolled back, the files only
    listed, no rebuild: the summary says what an erasure would do, nothing is changed."""
    from outreach.settings import load_settings

    state = Path(state_dir or load_settings().state_dir)
    with psycopg.connect(database_url) as conn:
        subject = find_subject(conn, email, linkedin_urls, names)
        conn.rollback()
        summary = ErasureSummary(subject, dry_run=dry_run)
        strong = _combined(subject.patterns(), {EMAIL, LINKEDIN_URL})
        every = _combined(subject.patterns(), {EMAIL, LINKEDIN_URL, NAME})
        if dry_run:
            with conn.transaction(force_rollback=True):
                tombstones.ensure_table(conn)
                summary.tombstones_added = tombstones.record(
                    conn, tombstones.identifier_hashes([subject.email], subject.linkedin_urls)
                )
                _delete_raw(conn, strong, every, summary)
                _redact_keymap(conn, subject, strong, summary)
                _delete_built(conn, strong, summary)
            summary.files_scanned, summary.files_deleted, summary.not_reached = erase_state_files(
                subject, state, skip=[state / "pgdata"], delete=False
            )
            return summary
        tombstones.ensure_table(conn)
        with conn.transaction():
            summary.tombstones_added = tombstones.record(
                conn, tombstones.identifier_hashes([subject.email], subject.linkedin_urls)
            )
            progress(f"recorded {summary.tombstones_added} new tombstone(s) in raw_ops")
            _delete_raw(conn, strong, every, summary)
            _redact_keymap(conn, subject, strong, summary)
            _delete_built(conn, strong, summary)
        progress(
            f"deleted {sum(summary.deleted.values())} row(s), redacted "
            f"{sum(summary.redacted.values())} key-map row(s)"
        )
    _vacuum(database_url, summary.deleted)
    summary.files_scanned, summary.files_deleted, unreadable = erase_state_files(
        subject, state, skip=[state / "pgdata"]
    )
    summary.not_reached = unreadable + list(OUT_OF_REACH)
    progress(
        f"swept {summary.files_scanned} file(s) under {state}: {len(summary.files_deleted)} deleted"
    )
    if rebuild:
        if run_dbt is None:
            from outreach.dbt import run_dbt

        progress("rebuilding the dbt models (dbt run --full-refresh) …")
        result = run_dbt(["run", "--full-refresh"], url=database_url, check=False, capture=True)
        if result.returncode != 0:
            tail = "\n".join((result.stdout or "").splitlines()[-15:])
            raise GdprError(f"the dbt rebuild after the erasure failed:\n{tail}")
        summary.rebuilt = True
    with psycopg.connect(database_url) as conn:
        summary.remaining = scan(conn, subject)
    return summary
