"""Campaigns and the suppression list: the app-owned raw schema ``raw_campaigns``.

Written by the CLI (``outreach campaign …``, ``outreach suppress …``) and, for bounces,
complaints and unsubscribes, by the email-event ingest; never by dbt. Every table is
append-only, so a full refresh of the marts rebuilds from the whole history and nothing a
user did is lost (like ``raw_ops.gdpr_tombstones``):

- ``campaigns``: one row per campaign (its id, name, where its members came from);
- ``campaign_changes``: the change log, one row per membership change (``add`` /
  ``remove``) of a contact, with when and from what; membership is the last change;
- ``ab_tests``: one row per declared A/B test (``outreach campaign ab-test``; outreach/ab_tests.py),
  declared before results: only sends at or after ``declared_at`` count;
- ``suppressions``: one row per suppressed address and reason. The address is kept as the
  sha256 of its normalised form (``outreach.tombstones.normalise_email``) and, except for a
  GDPR erasure, in plain text too. dbt's ``people.suppression_list`` matches contacts on the
  hash, so a suppression made before the contact was loaded still applies.

The published ``marketing.campaign`` / ``marketing.campaign_contact`` and
``people.suppression_list`` are dbt models over these tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from outreach import tombstones

SCHEMA = "raw_campaigns"
REASONS = ("hard_bounce", "complaint", "unsubscribe", "gdpr", "manual")
TABLES = {"campaigns", "campaign_changes", "suppressions", "handoffs", "messages", "ab_tests"}

DDL = f"""
create schema if not exists {SCHEMA};
create table if not exists {SCHEMA}.campaigns (
    campaign_id bigint generated always as identity primary key,
    name text not null unique check (length(trim(name)) > 0),
    source text not null,
    created_at timestamptz not null default now()
);
create table if not exists {SCHEMA}.campaign_changes (
    change_id bigint generated always as identity primary key,
    campaign_id bigint not null references {SCHEMA}.campaigns (campaign_id),
    contact_id bigint not null,
    action text not null check (action in ('add', 'remove')),
    source text not null,
    changed_at timestamptz not null default now()
);
create index if not exists campaign_changes_member
    on {SCHEMA}.campaign_changes (campaign_id, contact_id, change_id);
create table if not exists {SCHEMA}.suppressions (
    suppression_id bigint generated always as identity primary key,
    email_sha256 text not null check (email_sha256 ~ '^[0-9a-f]{{64}}$'),
    email text check (email is null or email = lower(email)),
    contact_id bigint,
    reason text not null check (reason in ({", ".join(f"'{r}'" for r in REASONS)})),
    source text not null,
    suppressed_at timestamptz not null default now(),
    unique (email_sha256, reason)
);
create table if not exists {SCHEMA}.handoffs (
    handoff_id bigint generated always as identity primary key,
    company_id bigint not null,
    contact_id bigint,
    notes text,
    source text not null,
    created_at timestamptz not null default now()
);
create table if not exists {SCHEMA}.messages (
    message_id bigint generated always as identity primary key,
    campaign_id bigint,
    contact_id bigint,
    email text,
    direction text not null check (direction in ('outbound', 'inbound')),
    channel text not null check (channel in ('email', 'linkedin', 'phone', 'other')),
    subject text,
    body text,
    provider_message_id text,
    sent_at timestamptz not null,
    source text not null,
    recorded_at timestamptz not null default now()
);
create table if not exists {SCHEMA}.ab_tests (
    ab_test_id bigint generated always as identity primary key,
    test_name text not null unique check (length(trim(test_name)) > 0),
    campaign_id bigint not null references {SCHEMA}.campaigns (campaign_id),
    campaign_step text,
    variant_a text not null,
    variant_b text not null check (variant_b <> variant_a),
    primary_metric text not null default 'reply'
        check (primary_metric in ('reply', 'open', 'click', 'meeting')),
    min_sample_per_arm integer not null check (min_sample_per_arm > 0),
    alpha numeric not null default 0.05 check (alpha > 0 and alpha < 1),
    expected_share_a numeric not null default 0.5
        check (expected_share_a > 0 and expected_share_a < 1),
    start_at timestamptz,
    end_at timestamptz,
    source text not null,
    declared_at timestamptz not null default now()
);
comment on table {SCHEMA}.suppressions is
    'Suppressed email addresses (sha256 of the normalised address; plain except for GDPR '
    'erasures), one row per address and reason. Append-only: survives reloads and full '
    'refreshes. Every outreach view excludes the contacts matching one.';
"""


class CampaignError(ValueError):
    """An operator mistake (unknown campaign, duplicate name, bad reason); says which."""


def ensure_raw_tables(database_url: str) -> bool:
    from outreach.raw import ensure_ddl_tables

    return ensure_ddl_tables(database_url, SCHEMA, TABLES, DDL)


# ------------------------------------------------------------------------ suppression
@dataclass(frozen=True)
class Suppression:
    email: str
    reason: str
    source: str
    contact_id: int | None = None
    suppressed_at: datetime | None = None


def suppress(conn: psycopg.Connection, rows: Iterable[Suppression]) -> int:
    """Record suppressions (inside the caller's transaction); returns how many were new. An
    address already suppressed for the same reason keeps its first row."""
    added = 0
    for row in rows:
        if row.reason not in REASONS:
            raise CampaignError(f"suppression reason {row.reason!r}: expected one of {REASONS}")
        email = tombstones.normalise_email(row.email)
        if email is None:
            raise CampaignError(f"suppression of {row.email!r}: expected an email address")
        cur = conn.execute(
            f"insert into {SCHEMA}.suppressions"
            " (email_sha256, email, contact_id, reason, source, suppressed_at)"
            " values (%s, %s, %s, %s, %s, coalesce(%s, now())) on conflict do nothing",
            (
                tombstones.sha256(email),
                None if row.reason == "gdpr" else email,
                row.contact_id,
                row.reason,
                row.source,
                row.suppressed_at,
            ),
        )
        added += cur.rowcount
    return added


def suppression_reasons(conn: psycopg.Connection, emails: Iterable[str]) -> dict[str, str]:
    """{normalised email: reason} for the given addresses that are suppressed or erased (a
    GDPR tombstone counts as ``gdpr``). Reads the raw tables, so it is current without a
    dbt build."""
    by_hash = {}
    for e in emails:
        if (n := tombstones.normalise_email(e)) is not None:
            by_hash[tombstones.sha256(n)] = n
    if not by_hash:
        return {}
    hashes = list(by_hash)
    found = conn.execute(
        f"select email_sha256, min(reason) from {SCHEMA}.suppressions"
        " where email_sha256 = any(%s) group by 1",
        (hashes,),
    ).fetchall()
    out = {by_hash[h]: reason for h, reason in found}
    if conn.execute("select to_regclass('raw_ops.gdpr_tombstones')").fetchone()[0]:
        for (h,) in conn.execute(
            "select value_sha256 from raw_ops.gdpr_tombstones"
            " where kind = 'email' and value_sha256 = any(%s)",
            (hashes,),
        ):
            out[by_hash[h]] = "gdpr"
    return out


# ------------------------------------------------------------------------ campaigns
@dataclass
class Candidate:
    contact_id: int
    email: str | None


@dataclass
class AddResult:
    campaign_id: int
    added: int = 0
    already: int = 0
    left_out: dict[str, int] = field(default_factory=dict)  # reason -> count

    def render(self, name: str) -> str:
        parts = [f"campaign {name} (id {self.campaign_id}): {self.added} contacts added"]
        if self.already:
            parts.append(f"{self.already} already members")
        if self.left_out:
            why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.left_out.items()))
            parts.append(f"{sum(self.left_out.values())} left out as suppressed ({why})")
        return "; ".join(parts)


def create_campaign(conn: psycopg.Connection, name: str, source: str) -> int:
    name = name.strip()
    if not name:
        raise CampaignError("a campaign needs a name")
    row = conn.execute(
        f"insert into {SCHEMA}.campaigns (name, source) values (%s, %s)"
        " on conflict (name) do nothing returning campaign_id",
        (name, source),
    ).fetchone()
    if row is None:
        raise CampaignError(f"campaign {name!r} exists already: use `outreach campaign add`")
    return row[0]


def campaign_id(conn: psycopg.Connection, name_or_id: str) -> int:
    """The id of a campaign given by name (or by id, all digits)."""
    if name_or_id.isdigit() and len(name_or_id) < 19:
        row = conn.execute(
            f"select campaign_id from {SCHEMA}.campaigns where campaign_id = %s",
            (int(name_or_id),),
        ).fetchone()
    else:
        row = conn.execute(
            f"select campaign_id from {SCHEMA}.campaigns where name = %s", (name_or_id.strip(),)
        ).fetchone()
    if row is None:
        raise CampaignError(f"no campaign {name_or_id!r} (see `outreach campaign list`)")
    return row[0]


def members(conn: psycopg.Connection, cid: int) -> set[int]:
    """The current members: contacts whose last change in the log is an add."""
    return {
        r[0]
        for r in conn.execute(
            f"select distinct on (contact_id) contact_id, action from {SCHEMA}.campaign_changes"
            " where campaign_id = %s order by contact_id, change_id desc",
            (cid,),
        )
        if r[1] == "add"
    }


def _lock(conn: psycopg.Connection, cid: int) -> None:
    conn.execute("select pg_advisory_xact_lock(hashtext('outreach campaign'), %s)", (cid,))


def add_contacts(
    conn: psycopg.Connection, cid: int, candidates: Iterable[Candidate], source: str
) -> AddResult:
    """Add contacts not yet members (idempotent); suppressed ones are left out and counted
    by reason. Inside the caller's transaction."""
    _lock(conn, cid)
    result = AddResult(cid)
    wanted: dict[int, Candidate] = {}
    for c in candidates:
        wanted.setdefault(c.contact_id, c)
    suppressed = suppression_reasons(conn, [c.email for c in wanted.values() if c.email])
    current = members(conn, cid)
    for contact_id, c in sorted(wanted.items()):
        reason = suppressed.get(tombstones.normalise_email(c.email) or "")
        if reason is not None:
            result.left_out[reason] = result.left_out.get(reason, 0) + 1
        elif contact_id in current:
            result.already += 1
        else:
            conn.execute(
                f"insert into {SCHEMA}.campaign_changes (campaign_id, contact_id, action, source)"
                " values (%s, %s, 'add', %s)",
                (cid, contact_id, source),
            )
            result.added += 1
    return result


def remove_contacts(
    conn: psycopg.Connection, cid: int, contact_ids: Iterable[int], source: str
) -> int:
    """Remove members (idempotent); returns how many were members."""
    _lock(conn, cid)
    current = members(conn, cid)
    removed = 0
    for contact_id in sorted(set(contact_ids) & current):
        conn.execute(
            f"insert into {SCHEMA}.campaign_changes (campaign_id, contact_id, action, source)"
            " values (%s, %s, 'remove', %s)",
            (cid, contact_id, source),
        )
        removed += 1
    return removed


# ------------------------------------------------------------------------ member sources
ROLE_CODES = ("CEO", "CFO", "HR")
EMAIL_STATUSES = ("green", "yellow", "red", "gray")

_SLOT_CONTACTS = """
select slots.contact_id, contacts.email
from company.company_slot as slots
inner join people.contact as contacts on slots.contact_id = contacts.contact_id
inner join people.contact_verification as verification
    on slots.contact_id = verification.contact_id
where slots.company_id in ({companies})
  and slots.role_code = any(%(slots)s)
  and verification.email_status = any(%(statuses)s)
order by slots.company_id, slots.role_code
"""
_COMPANIES = {
    # the schema doc's pattern: companies whose renewal window is open today
    "renewals-ready": "select company_id from company.vw_due_renewals_ready",
    # companies with a buyer-intent signal not yet processed
    "signals": "select company_id from bit.signal where processed_at is null",
}


@dataclass
class FileCandidates:
    candidates: list[Candidate]
    problems: list[str]  # one line per row that could not be used


def slot_candidates(
    conn: psycopg.Connection,
    source: str,
    slots: Iterable[str] = ROLE_CODES,
    statuses: Iterable[str] = ("green",),
) -> list[Candidate]:
    """The slot contacts (roles ``slots``, email status in ``statuses``) of the companies a
    source names: ``renewals-ready`` or ``signals``. Suppressed contacts are among them
    (``add_contacts`` leaves them out and counts them)."""
    slots, statuses = [s.upper() for s in slots], [s.lower() for s in statuses]
    if bad := [s for s in slots if s not in ROLE_CODES]:
        raise CampaignError(f"--slots {','.join(bad)}: expected some of {','.join(ROLE_CODES)}")
    if bad := [s for s in statuses if s not in EMAIL_STATUSES]:
        raise CampaignError(
            f"--email-status {','.join(bad)}: expected some of {','.join(EMAIL_STATUSES)}"
        )
    query = _SLOT_CONTACTS.format(companies=_COMPANIES[source])
    rows = conn.execute(query, {"slots": slots, "statuses": statuses}).fetchall()
    return [Candidate(contact_id, email) for contact_id, email in rows]


def file_candidates(conn: psycopg.Connection, path: str) -> FileCandidates:
    """Contacts listed in a CSV file with a ``contact_id`` or an ``email`` column (header
    row). Rows naming no known contact are reported by row number, the others kept."""
    import csv
    from pathlib import Path

    file = Path(path)
    if not file.is_file():
        raise CampaignError(f"{path}: no such file")
    with file.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = {f.strip().lower(): f for f in reader.fieldnames or []}
        if "contact_id" not in fields and "email" not in fields:
            raise CampaignError(
                f"{path}: expected a header row with a contact_id or an email column, "
                f"found {sorted(fields) or 'none'}"
            )
        rows = list(reader)
    known = dict(conn.execute("select contact_id, lower(email) from people.contact").fetchall())
    by_email = {e: c for c, e in known.items() if e}
    out, problems = [], []
    for n, row in enumerate(rows, start=2):
        raw_id = (row.get(fields.get("contact_id", ""), "") or "").strip()
        raw_email = tombstones.normalise_email(row.get(fields.get("email", ""), ""))
        if raw_id:
            if not raw_id.isdigit() or int(raw_id) not in known:
                problems.append(f"{path}: row {n}: contact_id {raw_id!r} is not a known contact")
                continue
            out.append(Candidate(int(raw_id), known[int(raw_id)]))
        elif raw_email:
            if raw_email not in by_email:
                problems.append(f"{path}: row {n}: email {raw_email!r} is not a known contact")
                continue
            out.append(Candidate(by_email[raw_email], raw_email))
        else:
            problems.append(f"{path}: row {n}: expected a contact_id or an email, found neither")
    return FileCandidates(out, problems)


def list_campaigns(conn: psycopg.Connection) -> list[dict]:
    rows = conn.execute(
        f"""
        select c.campaign_id, c.name, c.source, c.created_at,
               coalesce(max(ch.changed_at), c.created_at) as updated_at
        from {SCHEMA}.campaigns as c
        left join {SCHEMA}.campaign_changes as ch on c.campaign_id = ch.campaign_id
        group by c.campaign_id order by c.campaign_id
        """
    ).fetchall()
    out = []
    for cid, name, source, created_at, updated_at in rows:
        out.append(
            {
                "campaign_id": cid,
                "name": name,
                "source": source,
                "members": len(members(conn, cid)),
                "created_at": created_at.isoformat(),
                "updated_at": updated_at.isoformat(),
            }
        )
    return out


def show_campaign(conn: psycopg.Connection, cid: int) -> dict:
    """A campaign, its members (suppressed ones are not members) and its change log size."""
    (name, source, created_at) = conn.execute(
        f"select name, source, created_at from {SCHEMA}.campaigns where campaign_id = %s", (cid,)
    ).fetchone()
    ids = sorted(members(conn, cid))
    emails = (
        dict(
            conn.execute(
                "select contact_id, email from people.contact where contact_id = any(%s)", (ids,)
            ).fetchall()
        )
        if ids and conn.execute("select to_regclass('people.contact')").fetchone()[0]
        else {}
    )
    suppressed = suppression_reasons(conn, [e for e in emails.values() if e])
    (changes,) = conn.execute(
        f"select count(*) from {SCHEMA}.campaign_changes where campaign_id = %s", (cid,)
    ).fetchone()
    listed, left_out = [], {}
    for contact_id in ids:
        email = emails.get(contact_id)
        reason = suppressed.get(tombstones.normalise_email(email) or "")
        if reason:
            left_out[reason] = left_out.get(reason, 0) + 1
        else:
            listed.append({"contact_id": contact_id, "email": email})
    return {
        "campaign_id": cid,
        "name": name,
        "source": source,
        "created_at": created_at.isoformat(),
        "members": listed,
        "suppressed_since_added": left_out,
        "changes": changes,
    }


# ------------------------------------------------------------------------ hand-offs, messages
@dataclass(frozen=True)
class Handoff:
    company_id: int
    contact_id: int | None
    notes: str | None


def record_handoffs(conn: psycopg.Connection, rows: Iterable[Handoff], source: str) -> int:
    n = 0
    for h in rows:
        conn.execute(
            f"insert into {SCHEMA}.handoffs (company_id, contact_id, notes, source)"
            " values (%s, %s, %s, %s)",
            (h.company_id, h.contact_id, h.notes, source),
        )
        n += 1
    return n


@dataclass(frozen=True)
class Message:
    direction: str  # outbound / inbound
    sent_at: datetime
    campaign_id: int | None = None
    contact_id: int | None = None
    email: str | None = None
    channel: str = "email"
    subject: str | None = None
    body: str | None = None
    provider_message_id: str | None = None


def record_messages(conn: psycopg.Connection, rows: Iterable[Message], source: str) -> int:
    """Append outbound sends and inbound replies to the message log."""
    n = 0
    for m in rows:
        conn.execute(
            f"insert into {SCHEMA}.messages (campaign_id, contact_id, email, direction, channel,"
            " subject, body, provider_message_id, sent_at, source)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                m.campaign_id,
                m.contact_id,
                tombstones.normalise_email(m.email),
                m.direction,
                m.channel,
                m.subject,
                m.body,
                m.provider_message_id,
                m.sent_at,
                source,
            ),
        )
        n += 1
    return n
