"""Refresh jobs in ``raw_apify.refresh_jobs``, the profile queue, the circuit breaker.

The loader writes job rows with psycopg upserts, one committed statement per status
change, so ``pending -> running -> completed | failed`` is visible while a run is under
way (``marketing.linkedin_refresh_jobs`` is a view over this table). Job ids are Barton
ids ``04.04.06.XX.NNNNN.NNN`` built from the sequence ``raw_apify.refresh_job_seq``:
sequences never hand out a number twice, so ids are never reused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from loaders.apify_linkedin import settings as s
from loaders.apify_linkedin.helpers import normalize_linkedin_url

JOBS = f"{s.DATASET_NAME}.{s.JOBS_TABLE}"
ITEMS = f"{s.DATASET_NAME}.{s.ITEMS_TABLE}"
SEQUENCE = f"{s.DATASET_NAME}.{s.JOB_SEQUENCE}"


@dataclass(frozen=True)
class JobTable:
    """A job table and the Barton entity code of its ids: the profile refresh's
    (``raw_apify.refresh_jobs``, 04.04.06) by default; the LinkedIn company-page refresh
    has its own (loaders/company_pages/linkedin.py, 04.04.07)."""

    table: str = JOBS
    sequence: str = SEQUENCE
    kind: str = s.JOB_KIND
    what: str = "Apify LinkedIn refresh jobs"
    command: str = "outreach load apify-linkedin"  # the manual run that closes the breaker

    def ddl(self) -> str:
        return f"""
create schema if not exists {self.table.split(".")[0]};
create sequence if not exists {self.sequence};
create table if not exists {self.table} (
    job_unique_id text primary key,
    id bigint not null unique,
    status text not null
        check (status in ('pending', 'running', 'completed', 'failed')),
    trigger text not null,
    total_profiles integer not null default 0,
    profiles_completed integer not null default 0,
    profiles_skipped integer not null default 0,
    items_received integer not null default 0,
    items_landed integer not null default 0,
    actor_id text,
    dataset_id text,
    run_id text,
    error_message text,
    metadata jsonb not null default '{{}}'::jsonb,
    run_started_at timestamptz,
    run_completed_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
comment on table {self.table} is
    '{self.what}, written by loaders.apify_linkedin.jobs (psycopg upserts).';
"""


PROFILE_JOBS = JobTable()
DDL = PROFILE_JOBS.ddl()

_UPDATABLE = {
    "status",
    "total_profiles",
    "profiles_completed",
    "profiles_skipped",
    "items_received",
    "items_landed",
    "actor_id",
    "dataset_id",
    "run_id",
    "error_message",
    "metadata",
    "run_started_at",
    "run_completed_at",
}


def barton_job_id(seq: int, kind: str = s.JOB_KIND) -> str:
    """Barton id of refresh job number ``seq`` (same layout as the dbt macro barton_id)."""
    if not 1 <= seq <= 9_999_999_999:
        raise ValueError(f"refresh job sequence number out of range: {seq}")
    return f"04.04.{kind}.{seq // 100_000_000:02d}.{(seq // 1000) % 100_000:05d}.{seq % 1000:03d}"


def _connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def ensure_tables(url: str, jobs: JobTable = PROFILE_JOBS) -> bool:
    """Create raw_apify, the job sequence and the jobs table if missing (idempotent);
    True if the jobs table was created."""
    with _connect(url) as conn, conn.transaction():
        # concurrent "create ... if not exists" can still collide: serialise them
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (jobs.table,))
        existed = relation_exists(conn, jobs.table)
        conn.execute(jobs.ddl())
    return not existed


def items_table_exists(url: str) -> bool:
    with _connect(url) as conn:
        return relation_exists(conn, ITEMS)


def relation_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (name,)).fetchone()[0]


# ---------------------------------------------------------------------------- jobs
@dataclass(frozen=True)
class JobRef:
    id: int
    job_unique_id: str


def create_job(
    url: str,
    *,
    trigger: str,
    total_profiles: int,
    actor_id: str | None,
    metadata: dict[str, Any],
    jobs: JobTable = PROFILE_JOBS,
) -> JobRef:
    """A new job row in status ``pending``."""
    if trigger not in s.TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}; expected one of {', '.join(s.TRIGGERS)}")
    with _connect(url) as conn:
        seq = conn.execute("select nextval(%s)", (jobs.sequence,)).fetchone()[0]
        job = JobRef(id=seq, job_unique_id=barton_job_id(seq, jobs.kind))
        conn.execute(
            f"""
            insert into {jobs.table} (job_unique_id, id, status, trigger, total_profiles,
                                profiles_skipped, actor_id, metadata)
            values (%s, %s, 'pending', %s, %s, 0, %s, %s)
            """,
            (job.job_unique_id, job.id, trigger, total_profiles, actor_id, Jsonb(metadata)),
        )
    return job


def update_job(url: str, job: JobRef, *, jobs: JobTable = PROFILE_JOBS, **values: Any) -> None:
    """Set fields of a job (one committed statement); ``metadata`` is merged into what is
    there."""
    unknown = set(values) - _UPDATABLE
    if unknown:
        raise ValueError(f"not a job column: {', '.join(sorted(unknown))}")
    names = sorted(values)
    assignments = ", ".join(
        "metadata = metadata || %s" if n == "metadata" else f"{n} = %s" for n in names
    )
    params = [Jsonb(values[n]) if n == "metadata" else values[n] for n in names]
    with _connect(url) as conn:
        updated = conn.execute(
            f"update {jobs.table} set {assignments}, updated_at = now() where job_unique_id = %s",
            (*params, job.job_unique_id),
        ).rowcount
    if updated != 1:
        raise LookupError(f"refresh job {job.job_unique_id} is not in {jobs.table}")


def _terminal_vendor_jobs(
    conn: psycopg.Connection, jobs: JobTable = PROFILE_JOBS
) -> list[dict[str, Any]]:
    """Finished live-run jobs (not file imports), oldest first."""
    if not relation_exists(conn, jobs.table):
        return []
    conn.row_factory = dict_row
    return conn.execute(
        f"""
        select job_unique_id, status, trigger, error_message, metadata, run_completed_at
        from {jobs.table}
        where trigger <> %s and status in ('completed', 'failed')
        order by id
        """,
        (s.TRIGGER_IMPORT,),
    ).fetchall()


# ---------------------------------------------------------------------------- breaker
def circuit_breaker_state(
    database_url: str | None = None, table: JobTable = PROFILE_JOBS
) -> tuple[bool, str]:
    """(open, reason). Three consecutive failed jobs open the breaker; only a manual run
    that completes closes it again. Scheduled and retry runs are skipped while it is open."""
    url = database_url or _warehouse_url()
    with _connect(url) as conn:
        jobs = _terminal_vendor_jobs(conn, table)
    is_open = False
    streak: list[dict[str, Any]] = []
    for job in jobs:
        if job["status"] == "failed":
            streak.append(job)
            is_open = is_open or len(streak) >= s.BREAKER_FAILURES
        elif is_open and job["trigger"] != s.TRIGGER_MANUAL:
            continue  # only a manual run closes an open breaker
        else:
            is_open, streak = False, []
    if not is_open:
        return False, (
            f"closed: {len(streak)} consecutive failed job(s); opens at {s.BREAKER_FAILURES}"
        )
    return True, (
        f"open: {len(streak)} consecutive failed refresh jobs "
        f"({', '.join(j['job_unique_id'] for j in streak[-s.BREAKER_FAILURES :])}); "
        f"last error: {streak[-1]['error_message'] or 'unknown'}. Scheduled runs are "
        f"skipped until a manual run ({table.command}) completes."
    )


def last_completed_refresh(database_url: str | None = None) -> datetime | None:
    """When the latest live refresh job completed (None: never) - for the stale-data check
    (no completed refresh for more than 45 days is critical)."""
    url = database_url or _warehouse_url()
    with _connect(url) as conn:
        if not relation_exists(conn, JOBS):
            return None
        return conn.execute(
            f"select max(run_completed_at) from {JOBS} where status = 'completed' and trigger <> %s",
            (s.TRIGGER_IMPORT,),
        ).fetchone()[0]


# ---------------------------------------------------------------------------- rate limits
@dataclass(frozen=True)
class RateLimitState:
    """Whether the last refresh ended rate-limited, and when to retry the remainder."""

    limited: bool
    attempt: int  # consecutive rate-limited jobs so far
    retry_after_seconds: int | None  # None: retries exhausted (wait for the next schedule)
    next_retry_at: datetime | None
    remaining_profiles: int  # profiles still due now

    def as_dict(self) -> dict[str, Any]:
        return {
            "limited": self.limited,
            "attempt": self.attempt,
            "retry_after_seconds": self.retry_after_seconds,
            "next_retry_at": self.next_retry_at.isoformat() if self.next_retry_at else None,
            "remaining_profiles": self.remaining_profiles,
        }


def retry_after_for(attempt: int) -> int | None:
    """Seconds to wait before retry number ``attempt`` (1-based): +1 h, +6 h, +24 h."""
    schedule = s.RATE_LIMIT_RETRY_SCHEDULE_S
    return schedule[attempt - 1] if 1 <= attempt <= len(schedule) else None


def _streak(jobs: list[dict[str, Any]]) -> int:
    streak = 0
    for job in reversed(jobs):
        if not (job["metadata"] or {}).get("rate_limit_hit"):
            break
        streak += 1
    return streak


def rate_limit_streak(url: str, jobs: JobTable = PROFILE_JOBS) -> int:
    """How many of the latest finished live jobs, newest first, hit the rate limit."""
    with _connect(url) as conn:
        return _streak(_terminal_vendor_jobs(conn, jobs))


def rate_limit_state(database_url: str | None = None) -> RateLimitState:
    """For the orchestrator: whether to retry the rate-limited remainder, and when."""
    url = database_url or _warehouse_url()
    with _connect(url) as conn:
        jobs = _terminal_vendor_jobs(conn)
    streak = _streak(jobs)
    if not streak:
        return RateLimitState(False, 0, None, None, 0)
    last = jobs[-1]
    retry_after = retry_after_for(streak)
    next_at = (
        last["run_completed_at"] + timedelta(seconds=retry_after)
        if retry_after and last["run_completed_at"]
        else None
    )
    return RateLimitState(True, streak, retry_after, next_at, len(due_profiles(url)))


# ---------------------------------------------------------------------------- queue
# Where tracked people come from, in order: the marts, the intake staging model, raw intake.
TRACKED_SOURCES = (
    "marketing.people_master",
    "staging.stg_intake__people",
    "raw_intake.people",
)


def tracked_profiles(url: str) -> tuple[str | None, list[str]]:
    """(source relation, LinkedIn URLs as given) of the tracked people, one per profile."""
    with _connect(url) as conn:
        for relation in TRACKED_SOURCES:
            if not relation_exists(conn, relation):
                continue
            rows = conn.execute(
                f"select linkedin_url from {relation} where linkedin_url is not null "
                "order by linkedin_url"
            ).fetchall()
            seen: dict[str, str] = {}
            for (value,) in rows:
                key = normalize_linkedin_url(value)
                if key and key not in seen:
                    seen[key] = value
            return relation, list(seen.values())
    return None, []


def last_observations(url: str) -> dict[str, datetime]:
    """Normalised profile URL -> latest observed_at in raw_apify (usable items only)."""
    with _connect(url) as conn:
        if not relation_exists(conn, ITEMS):
            return {}
        rows = conn.execute(
            f"""
            select linkedin_url, input_url, max(observed_at)
            from {ITEMS}
            where coalesce(full_name, first_name, last_name) is not null
            group by 1, 2
            """
        ).fetchall()
    last: dict[str, datetime] = {}
    for profile_url, input_url, observed in rows:
        for value in (profile_url, input_url):
            key = normalize_linkedin_url(value)
            if key and (key not in last or observed > last[key]):
                last[key] = observed
    return last


def due_profiles(
    url: str, *, all_profiles: bool = False, as_of: datetime | None = None
) -> list[str]:
    """Tracked profile URLs to refresh: never observed or last observed more than 30 days
    before ``as_of`` (default now); all tracked profiles with ``all_profiles``. Never-seen
    profiles first, then the stalest."""
    _, tracked = tracked_profiles(url)
    if all_profiles:
        return tracked
    as_of = as_of or datetime.now(UTC)
    cutoff = as_of - timedelta(days=s.STALE_AFTER_DAYS)
    last = last_observations(url)
    floor = datetime.min.replace(tzinfo=UTC)
    due = [
        (last.get(normalize_linkedin_url(u)) or floor, u)
        for u in tracked
        if (last.get(normalize_linkedin_url(u)) or floor) < cutoff
    ]
    return [u for _, u in sorted(due)]


def dataset_landed(url: str, dataset_id: str) -> bool:
    """Whether any item of this dataset is in raw_apify already."""
    with _connect(url) as conn:
        if not relation_exists(conn, ITEMS):
            return False
        return conn.execute(
            f"select exists (select 1 from {ITEMS} where dataset_id = %s)", (dataset_id,)
        ).fetchone()[0]


def ensure_item_indexes(url: str) -> None:
    """Indexes the loader's own lookups and change detection use (dlt creates the table and
    its item_key UNIQUE index; these are ours, created once). The partial ones find a
    dataset's items with an `experience` array, and those with an `experiences` one:
    stg_apify__profile_positions reads those through a lateral join of their entries, and
    without them would scan the whole dataset again to find (usually) none."""
    with _connect(url) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext(%s))", (ITEMS,))
        conn.execute(
            f"create index if not exists profile_items_dataset_id_idx on {ITEMS} (dataset_id)"
        )
        conn.execute(
            f"create index if not exists profile_items_job_unique_id_idx on {ITEMS} (job_unique_id)"
        )
        conn.execute(  # the datasets loaded since a build (int_profile_urls_checked)
            f"create index if not exists profile_items_loaded_at_idx on {ITEMS} (loaded_at)"
        )
        conn.execute(
            "create index if not exists profile_items_experience_dataset_idx"
            f" on {ITEMS} (dataset_id) where coalesce(jsonb_typeof(experience) = 'array', false)"
        )
        conn.execute(  # the same for items with an `experiences` array (another actor's shape)
            "create index if not exists profile_items_experiences_dataset_idx"
            f" on {ITEMS} (dataset_id)"
            " where not coalesce(jsonb_typeof(experience) = 'array', false)"
            " and coalesce(jsonb_typeof((item -> 'experiences')) = 'array', false)"
        )


def items_landed(url: str, job_unique_id: str) -> int:
    with _connect(url) as conn:
        if not relation_exists(conn, ITEMS):
            return 0
        return conn.execute(
            f"select count(*) from {ITEMS} where job_unique_id = %s", (job_unique_id,)
        ).fetchone()[0]


def _warehouse_url() -> str:
    from outreach.warehouse import database_url

    return database_url()


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, sort_keys=True)
