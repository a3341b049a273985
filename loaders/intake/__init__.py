"""The intake source: company and people files (CSV or JSONL) -> raw_intake.

Resources ``companies``, ``people``, ``deals`` and ``quarantine`` become the tables
``raw_intake.companies``, ``raw_intake.people``, ``raw_intake.deals`` and
``raw_intake.quarantine``
(docs/raw_contract.md). Every table merges on ``_row_key`` with dlt's ``insert-only``
strategy: a row whose key is already there is never rewritten, so ``_loaded_at`` keeps the
time of the first load and loading the same files twice changes nothing.

``loaders.intake.run.load_intake_files`` is the front door (``outreach load intake``);
the source itself also works in any dlt pipeline (Dagster builds it with no files).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dlt

from loaders.intake import settings as s
from loaders.intake.helpers import (
    ExistingState,
    IntakeBatch,
    IntakeError,
    build_batch,
    column_hints,
    read_existing,
)

__all__ = ["IntakeBatch", "IntakeError", "intake_source"]

# Pipeline settings are the "intake" sections of .dlt/config.toml: arrow tables get
# _dlt_load_id, and carry their own _dlt_id, derived from _row_key (stable across loads and
# cheaper than dlt's random ids); uncompressed load files; no copies of loaded rows kept.

WRITE_DISPOSITION = {"disposition": "merge", "strategy": "insert-only"}
# _extra / raw_record travel as JSON text in arrow and are hinted json on purpose
JSON_TEXT_RESOURCES = ("companies", "people", "deals", "quarantine")
TABLES = ("companies", "people", "deals", "quarantine")


def _existing_from_active_pipeline() -> ExistingState:
    """Row keys and company identities in the destination of the pipeline now running."""
    from dlt.common.configuration.container import Container
    from dlt.common.pipeline import PipelineContext
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    context = Container()[PipelineContext]
    if not context.is_active():
        return ExistingState()
    pipeline = context.pipeline()
    if pipeline.destination is None:
        return ExistingState()
    with pipeline.sql_client() as client:

        def fetch(sql: str) -> list[tuple] | None:
            try:
                return list(client.execute_sql(sql) or [])
            except DatabaseUndefinedRelation:
                return None

        return read_existing(fetch, client.dataset_name)


class _LazyBatch:
    """Reads and validates the files once, on first use (never at definition time)."""

    def __init__(
        self,
        companies: Path | None,
        people: Path | None,
        known_companies: list[dict] | None,
        existing_keys: dict[str, set[str]] | None,
        batch: IntakeBatch | None,
        deals: Path | None = None,
    ) -> None:
        self.companies = Path(companies) if companies else None
        self.people = Path(people) if people else None
        self.deals = Path(deals) if deals else None
        self.known_companies = known_companies
        self.existing_keys = existing_keys
        self.batch = batch

    def get(self) -> IntakeBatch | None:
        if self.batch is None and (self.companies or self.people or self.deals):
            # GDPR tombstones are always read from the destination: erased people never load
            state = _existing_from_active_pipeline()
            known, keys = self.known_companies, self.existing_keys
            known = state.companies if known is None else known
            keys = state.keys if keys is None else keys
            self.batch = build_batch(
                self.companies,
                self.people,
                known_companies=known,
                existing_keys=keys,
                erased=state.tombstones,
                deals=self.deals,
            )
        return self.batch


def _resource(lazy: _LazyBatch, table: str) -> Any:
    def rows():
        batch = lazy.get()
        if batch is not None:
            yield getattr(batch, table)

    return dlt.resource(
        rows,
        name=table,
        write_disposition=WRITE_DISPOSITION,
        primary_key="_row_key",
        columns=column_hints(table),
    )


@dlt.source(name=s.SOURCE_NAME)
def intake_source(
    companies: Path | None = None,
    people: Path | None = None,
    known_companies: list[dict] | None = None,
    existing_keys: dict[str, set[str]] | None = None,
    batch: IntakeBatch | None = None,
    deals: Path | None = None,
) -> Any:
    """Intake files as resources ``companies``, ``people``, ``deals`` and ``quarantine``.

    Args:
        companies: companies file (.csv, .jsonl or .ndjson), or None.
        people: people file, or None. People must name an employer found among the
            companies of this load or ``known_companies``.
        known_companies: companies already loaded ({company_name, website_url,
            linkedin_url}); None = read them from the running pipeline's destination.
        existing_keys: ``_row_key``s already present per table; those rows are left out.
            None = read them from the running pipeline's destination.
        deals: deals file (deal_id, contact_id and/or contact_email, amount, currency,
            stage, closed_won, closed_at), or None.
        batch: an already built batch (``load_intake_files`` passes one so it can report
            counts); the other arguments are then ignored.

    With no files and no batch the resources yield nothing, so the source can be built at
    definition time. With files, every resource yields one (possibly empty) arrow table so
    all four tables exist after any load.
    """
    lazy = _LazyBatch(companies, people, known_companies, existing_keys, batch, deals)
    return [_resource(lazy, table) for table in TABLES]
