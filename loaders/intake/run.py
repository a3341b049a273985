"""Load intake files into raw_intake: the one entry point of every intake load.

``load_intake_files`` validates the files, drops the rows of GDPR-erased people, builds the
batch and runs the dlt pipeline. ``outreach load intake``, the demo and the Dagster asset
(orchestration/assets/loads.py) all call it; the asset passes ``run_pipeline`` so that
dagster-dlt's ``DagsterDltResource.run`` performs the dlt run and reports it.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dlt
import psycopg
from dlt.extract import DltSource
from dlt.pipeline.exceptions import PipelineStepFailed

from loaders.intake import JSON_TEXT_RESOURCES, intake_source
from loaders.intake import settings as s
from loaders.intake.helpers import (
    EntityStats,
    ExistingState,
    IntakeError,
    IntakeFileError,
    build_batch,
    check_file,
    read_existing,
)
from outreach.dlt_pipelines import load_lock, warehouse_pipeline
from outreach.events import recorded
from outreach.warehouse import database_url as warehouse_url
from outreach.warehouse import mask_url_password

__all__ = ["IntakeError", "IntakeSummary", "intake_pipeline", "load_intake_files"]


@dataclass
class IntakeSummary:
    """What one intake load did, per entity file.

    For each file: ``rows`` read, ``loaded`` (rows that passed validation), of those ``new``
    (written now) and ``already_present`` (same content loaded before, or repeated in the
    file), and ``quarantined`` with counts by reason.
    """

    entities: list[EntityStats] = field(default_factory=list)
    seconds: float = 0.0
    dataset: str = s.DATASET_NAME
    quarantine_new: int = 0  # quarantine rows written by this load

    def entity(self, name: str) -> EntityStats | None:
        return next((e for e in self.entities if e.entity == name), None)

    @property
    def companies(self) -> EntityStats | None:
        return self.entity(s.COMPANY)

    @property
    def people(self) -> EntityStats | None:
        return self.entity(s.PERSON)

    @property
    def deals(self) -> EntityStats | None:
        return self.entity(s.DEAL)

    @property
    def quarantined_by_reason(self) -> dict[str, int]:
        total: Counter = Counter()
        for e in self.entities:
            total.update(e.by_reason)
        return dict(sorted(total.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "seconds": round(self.seconds, 3),
            "entities": [e.as_dict() for e in self.entities],
            "loaded": sum(e.loaded for e in self.entities),
            "new": sum(e.new for e in self.entities),
            "already_present": sum(e.already_present for e in self.entities),
            "quarantined": sum(e.quarantined for e in self.entities),
            "quarantined_by_reason": self.quarantined_by_reason,
            "quarantine_new": self.quarantine_new,
            "gdpr_erased": sum(e.gdpr_erased for e in self.entities),
        }

    def render(self) -> str:
        header = ("entity", "file", "rows", "loaded", "new", "already present", "quarantined")
        body = [
            (e.entity, e.file, e.rows, e.loaded, e.new, e.already_present, e.quarantined)
            for e in self.entities
        ]
        widths = [max(len(str(row[i])) for row in [header, *body]) for i in range(len(header))]

        def line(row: tuple) -> str:
            cells = [
                str(v).ljust(widths[i]) if i < 2 else str(v).rjust(widths[i])
                for i, v in enumerate(row)
            ]
            return "  ".join(cells).rstrip()

        out = [f"intake load into {self.dataset} ({self.seconds:.2f} s)", line(header)]
        out += [line(row) for row in body]
        reasons = [
            (e.entity, reason, n)
            for e in self.entities
            for reason, n in sorted(e.by_reason.items())
        ]
        if reasons:
            out.append(f"quarantined by reason (details in {self.dataset}.quarantine):")
            width = max(len(r) for _, r, _ in reasons)
            out += [f"  {entity:<7}  {reason:<{width}}  {n}" for entity, reason, n in reasons]
        else:
            out.append("no rows quarantined")
        erased = sum(e.gdpr_erased for e in self.entities)
        if erased:
            out.append(f"dropped {erased} rows of GDPR-erased people (tombstoned; nothing kept)")
        return "\n".join(out)


def intake_pipeline(database_url: str) -> dlt.Pipeline:
    """The intake pipeline for this database (its working dir is keyed by the database)."""
    return warehouse_pipeline(
        database_url, s.PIPELINE_NAME, s.DATASET_NAME, json_text_resources=JSON_TEXT_RESOURCES
    )


def existing_state(database_url: str) -> ExistingState:
    """Row keys and company identities already in raw_intake (empty if never loaded)."""
    with psycopg.connect(database_url, autocommit=True) as conn:

        def fetch(sql: str) -> list[tuple] | None:
            try:
                return conn.execute(sql).fetchall()
            except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
                return None

        return read_existing(fetch)


def _run(pipeline: dlt.Pipeline, source: DltSource) -> None:
    pipeline.run(source)


@recorded("load.intake")
def load_intake_files(
    companies: Path | None,
    people: Path | None,
    *,
    progress: Callable[[str], Any] = print,
    database_url: str | None = None,
    run_pipeline: Callable[[dlt.Pipeline, DltSource], Any] = _run,
    trigger: str | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    deals: Path | None = None,
) -> IntakeSummary:
    """Validate and load a companies, a people and/or a deals file into raw_intake.

    People may name employers loaded in earlier runs; people erased with ``outreach gdpr
    erase`` (raw_ops.gdpr_tombstones) are dropped. Rows already present are skipped, so
    loading the same files again changes nothing. ``run_pipeline(pipeline, source)`` runs
    the dlt load (default ``pipeline.run(source)``; Dagster passes dagster-dlt's run).
    ``trigger`` (who started the load) goes into the ``load.intake`` pipeline event.
    ``now()`` gives the rows' ``_loaded_at`` (tests inject a clock).
    Raises IntakeError for an unusable file (missing, wrong type, no recognisable header)
    or a failed load.
    """
    started = time.perf_counter()
    companies = Path(companies) if companies else None
    people = Path(people) if people else None
    deals = Path(deals) if deals else None
    if companies is None and people is None and deals is None:
        raise IntakeFileError(
            "no intake files given; expected a companies, a people and/or a deals file"
        )
    for path, entity in ((companies, s.COMPANY), (people, s.PERSON), (deals, s.DEAL)):
        if path is not None:
            check_file(path, entity)

    url = database_url or warehouse_url()
    # one intake load at a time per database: the existing rows are read, the new ones
    # computed and loaded under the lock, so a concurrent load cannot load them twice
    with load_lock(url, s.PIPELINE_NAME, progress=progress):
        summary = _load_locked(
            url, companies, people, progress, run_pipeline, started, now(), deals
        )
    return summary


def _load_locked(
    url: str,
    companies: Path | None,
    people: Path | None,
    progress: Callable[[str], Any],
    run_pipeline: Callable[[dlt.Pipeline, DltSource], Any],
    started: float,
    loaded_at: datetime,
    deals: Path | None = None,
) -> IntakeSummary:
    existing = existing_state(url)
    batch = build_batch(
        companies,
        people,
        known_companies=existing.companies,
        existing_keys=existing.keys,
        progress=progress,
        erased=existing.tombstones,
        loaded_at=loaded_at,
        deals=deals,
    )
    for st in batch.stats:
        progress(
            f"{st.file}: {st.rows} rows, {st.loaded} good ({st.new} new, "
            f"{st.already_present} already present), {st.quarantined} quarantined"
        )

    pipeline = intake_pipeline(url)
    if pipeline.has_pending_data:
        progress("dropping an unfinished earlier load (its rows are read again from the files)")
        pipeline.abort_packages()
    progress(
        f"loading into {s.DATASET_NAME} at {mask_url_password(url)}: {batch.companies.num_rows} companies, "
        f"{batch.people.num_rows} people, {batch.deals.num_rows} deals, "
        f"{batch.quarantine.num_rows} quarantine rows…"
    )
    try:
        run_pipeline(pipeline, intake_source(batch=batch))
    except PipelineStepFailed as exc:
        raise IntakeError(
            f"loading into {s.DATASET_NAME} failed at step {exc.step}: {_reason(exc.exception)} "
            "(run the load again: it resumes without losing or duplicating rows)"
        ) from exc
    ensure_indexes(url)
    return IntakeSummary(
        entities=batch.stats,
        seconds=time.perf_counter() - started,
        quarantine_new=batch.quarantine.num_rows,
    )


def ensure_indexes(database_url: str) -> None:
    """Indexes of our own on the raw intake tables (dlt creates the merge key's): people by
    load time, so change detection reads only recently loaded rows (int_person_observations)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            f"create index if not exists people_loaded_at_idx on {s.DATASET_NAME}.people (_loaded_at)"
        )


def _reason(exc: BaseException) -> str:
    """The gist of a load failure: dlt wraps a failed job's whole traceback into its
    message; keep the last "SomeError: what happened" line of it."""
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [
        line
        for line in lines
        if re.match(r"^[\w.]+(Error|Exception|Shutdown): ", line) and "Traceback" not in line
    ]
    return errors[-1] if errors else (lines[0] if lines else type(exc).__name__)


def ensure_raw_tables(database_url: str) -> bool:
    """Create the (empty) raw_intake tables if they are missing, through the same dlt
    pipeline a load uses, so dbt can build before the first intake file arrives.
    Returns True if anything was created."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        present = {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (s.DATASET_NAME,),
            )
        }
    if {"companies", "people", "deals", "quarantine"} <= present:
        ensure_indexes(database_url)
        return False
    empty = build_batch(None, None)
    with load_lock(database_url, s.PIPELINE_NAME):
        intake_pipeline(database_url).run(intake_source(batch=empty))
    ensure_indexes(database_url)
    return True
