"""Loader assets: the dlt sources, one asset per raw table.

The intake load runs the dlt source from ``loaders/intake`` through dagster-dlt
(``build_dlt_asset_specs`` + ``DagsterDltResource.run``):
asset keys ``raw_intake/companies``, ``raw_intake/people``, ``raw_intake/deals``,
``raw_intake/quarantine``
(``<dataset>/<table>``, the same keys the dbt translator gives the dbt sources, so the dbt
models hang off these assets). The files come from run config.

One code path: the asset calls ``loaders.intake.run.load_intake_files``, the entry point of
``outreach load intake`` (validate, drop GDPR-erased people, build the batch, run the dlt
pipeline), and passes it dagster-dlt's run for the last step; the load's counts become
the metadata. Nothing here touches the warehouse at import time: the pipeline and its
credentials are built inside the run.
"""

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, build_dlt_asset_specs
from dagster_dlt.translator import DltResourceTranslatorData
from dlt import Pipeline
from dlt.extract import DltSource
from psycopg import sql
from pydantic import Field

from loaders.intake import intake_source
from loaders.intake import settings as intake_settings
from loaders.intake.helpers import EntityStats, IntakeError
from loaders.intake.run import load_intake_files
from orchestration.domains import INTAKE
from orchestration.resources import WarehouseResource
from outreach.dlt_pipelines import definitions_pipeline
from outreach.settings import load_settings

INTAKE_GROUP = INTAKE
# run config -> file, when the config leaves a path unset
COMPANIES_ENV = "OUTREACH_INTAKE_COMPANIES"
PEOPLE_ENV = "OUTREACH_INTAKE_PEOPLE"


class RawTableTranslator(DagsterDltTranslator):
    """dlt resource -> ``<dataset>/<table>``: the raw table it lands in."""

    def __init__(self, dataset: str, group: str) -> None:
        self.dataset = dataset
        self.group = group

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        table = str(data.resource.table_name)
        return spec.replace_attributes(
            key=dg.AssetKey([self.dataset, table]),
            deps=[],  # the default dep is a made-up "<source>_<resource>" key: the files
            group_name=self.group,
            description=_TABLE_DESCRIPTIONS.get(table, spec.description),
        )


_TABLE_DESCRIPTIONS = {
    "companies": "raw_intake.companies: company intake rows that passed validation "
    "(docs/raw_contract.md).",
    "people": "raw_intake.people: people intake rows that passed validation, employer matched.",
    "deals": "raw_intake.deals: deal intake rows (CRM export) that passed validation; "
    "loaded with `outreach load intake --deals FILE`.",
    "quarantine": "raw_intake.quarantine: intake rows rejected by validation, with the reason.",
}


class IntakeFilesConfig(dg.Config):
    """Which intake files to load.

    A path left unset falls back to ``$OUTREACH_INTAKE_COMPANIES`` / ``$OUTREACH_INTAKE_PEOPLE``;
    with neither given anywhere, the demo files (``.outreach/demo/companies.csv`` and
    ``people.jsonl``, written by ``outreach demo``) are used if they exist.
    """

    companies_path: str | None = Field(
        default=None, description="companies file (.csv or .jsonl); see the class doc for defaults"
    )
    people_path: str | None = Field(
        default=None, description="people file (.csv or .jsonl); see the class doc for defaults"
    )

    def resolve(self) -> tuple[Path | None, Path | None]:
        """(companies, people) files for this run; raises Failure when there are none."""
        settings = load_settings()
        companies = self.companies_path or settings.intake_companies
        people = self.people_path or settings.intake_people
        if companies is None and people is None:
            demo = settings.state_dir / "demo"
            companies = next((str(p) for p in sorted(demo.glob("companies.*"))), None)
            people = next((str(p) for p in sorted(demo.glob("people.*"))), None)
        if companies is None and people is None:
            raise dg.Failure(
                description=(
                    "no intake files: set companies_path and/or people_path in the run config "
                    f"(or {COMPANIES_ENV} / {PEOPLE_ENV}), or run `outreach demo` to write "
                    "the demo files"
                )
            )
        return (
            Path(companies).expanduser() if companies else None,
            Path(people).expanduser() if people else None,
        )


# Definition-time stand-ins: dagster-dlt reads the resources (-> asset specs) from these.
# The source with no files yields nothing; this pipeline is never run (no credentials).
_spec_pipeline = definitions_pipeline(intake_settings.PIPELINE_NAME, intake_settings.DATASET_NAME)
_spec_source = intake_source()
_translator = RawTableTranslator(intake_settings.DATASET_NAME, INTAKE_GROUP)


# `@dlt_assets` is `multi_asset(specs=build_dlt_asset_specs(...), can_subset=True)`. The
# three intake tables must load together (a file's bad rows go to quarantine in the same
# load as its good rows), so this is the same multi-asset with can_subset=False: the UI
# then materializes all three whenever one is selected.
@dg.multi_asset(
    specs=build_dlt_asset_specs(
        dlt_source=_spec_source, dlt_pipeline=_spec_pipeline, dagster_dlt_translator=_translator
    ),
    name="intake_load",
    can_subset=False,
    op_tags={"outreach/loader": "intake"},
)
def intake_assets(
    context: dg.AssetExecutionContext,
    config: IntakeFilesConfig,
    dlt: DagsterDltResource,
    warehouse: WarehouseResource,
) -> Iterator[dg.MaterializeResult]:
    """Validate the intake files, drop GDPR-erased people, land good rows in
    raw_intake.companies / people and bad ones in raw_intake.quarantine (dlt, merge
    insert-only on ``_row_key``): ``outreach load intake``'s entry point
    (``load_intake_files``), with dagster-dlt running the dlt pipeline. Recorded as a
    ``load.intake`` pipeline event (outreach/events.py) with trigger ``dagster:<run id>``."""
    companies, people = config.resolve()
    results: list[dg.MaterializeResult] = []

    def run_with_dagster(pipeline: Pipeline, source: DltSource) -> None:
        # dagster-dlt drops the pipeline's local state and pending packages, runs it, and
        # gives one materialization per resource (its keys: _translator)
        results.extend(dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline))

    try:
        summary = load_intake_files(
            companies,
            people,
            progress=context.log.info,
            database_url=warehouse.url(),
            run_pipeline=run_with_dagster,
            trigger=f"dagster:{context.run.run_id}",
        )
    except IntakeError as exc:
        raise dg.Failure(description=str(exc)) from exc
    stats = {st.entity: st for st in summary.entities}
    for result in results:
        table = result.asset_key.path[-1]
        extra = _table_metadata(table, stats, summary.quarantine_new)
        extra["dagster/row_count"] = dg.MetadataValue.int(_count_rows(warehouse, table))
        yield dg.MaterializeResult(
            asset_key=result.asset_key, metadata={**(result.metadata or {}), **extra}
        )


def _entity_metadata(st: EntityStats | None) -> dict[str, object]:
    if st is None:
        return {"file": dg.MetadataValue.text("(none given)"), "rows_new": dg.MetadataValue.int(0)}
    return {
        "file": dg.MetadataValue.text(st.file),
        "rows_read": dg.MetadataValue.int(st.rows),
        "rows_valid": dg.MetadataValue.int(st.loaded),
        "rows_new": dg.MetadataValue.int(st.new),
        "rows_already_present": dg.MetadataValue.int(st.already_present),
        "rows_quarantined": dg.MetadataValue.int(st.quarantined),
        "quarantined_by_reason": dg.MetadataValue.json(dict(sorted(st.by_reason.items()))),
    }


def _table_metadata(
    table: str, stats: dict[str, EntityStats], quarantine_rows: int
) -> dict[str, object]:
    if table == "companies":
        return _entity_metadata(stats.get(intake_settings.COMPANY))
    if table == "people":
        return _entity_metadata(stats.get(intake_settings.PERSON))
    if table == "deals":
        return _entity_metadata(stats.get(intake_settings.DEAL))
    by_reason: Counter = Counter()
    lines = ["| entity | reason | rows |", "| --- | --- | ---: |"]
    for st in stats.values():
        by_reason.update(st.by_reason)
        lines += [f"| {st.entity} | {reason} | {n} |" for reason, n in sorted(st.by_reason.items())]
    return {
        "rows_quarantined": dg.MetadataValue.int(sum(by_reason.values())),
        "rows_new": dg.MetadataValue.int(quarantine_rows),
        "quarantined_by_reason": dg.MetadataValue.json(dict(sorted(by_reason.items()))),
        "quarantine_report": dg.MetadataValue.md(
            "\n".join(lines) if len(lines) > 2 else "no rows quarantined in this load"
        ),
    }


def _count_rows(warehouse: WarehouseResource, table: str) -> int:
    with warehouse.connect() as conn:
        query = sql.SQL("select count(*) from {}.{}").format(
            sql.Identifier(intake_settings.DATASET_NAME), sql.Identifier(table)
        )
        return conn.execute(query).fetchone()[0]
