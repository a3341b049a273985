"""The dbt project as assets: every model, seed and snapshot; dbt tests as asset checks.

Asset keys follow the relation each node writes (``<schema>/<alias>``), and a dbt source
maps to ``<source schema>/<table>``: the key the dlt loader gives the raw table. So
``raw_intake/companies`` (dlt) feeds ``staging/stg_intake__companies`` (dbt) and the
asset graph is one lineage from the loader to the published marts (``company/company``,
``people/contact``, ``marketing/company_master``, ...).
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from psycopg import sql

from orchestration.dbt_project import outreach_dbt_project, prepare_manifest
from orchestration.resources import WarehouseResource

# Folder groups: models/<layer>/... -> <layer>; models/marts/<schema>/... -> marts_<schema>.
_LAYERS_WITH_SUBGROUPS = {"marts"}


class OutreachDbtTranslator(DagsterDbtTranslator):
    """dbt nodes -> asset keys by relation; groups by model folder."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        meta = dbt_resource_props.get("config", {}).get("meta", {}) or dbt_resource_props.get(
            "meta", {}
        )
        if meta.get("dagster", {}).get("asset_key"):
            return super().get_asset_key(dbt_resource_props)  # explicit override in YAML
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "source":
            # Same key the dlt translator gives the raw table: <dataset>/<table>.
            table = dbt_resource_props.get("identifier") or dbt_resource_props["name"]
            return dg.AssetKey([dbt_resource_props["schema"], table])
        relation = dbt_resource_props.get("alias") or dbt_resource_props["name"]
        return dg.AssetKey([dbt_resource_props["schema"], relation])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        explicit = super().get_group_name(dbt_resource_props)
        if explicit:
            return explicit
        resource_type = dbt_resource_props["resource_type"]
        if resource_type == "seed":
            return "reference"
        if resource_type == "snapshot":
            return "snapshots"
        # fqn: [project, *folders, model name]
        folders = list(dbt_resource_props.get("fqn", [])[1:-1])
        if not folders:
            return "dbt"
        if folders[0] in _LAYERS_WITH_SUBGROUPS and len(folders) > 1:
            return f"{folders[0]}_{folders[1]}"
        return folders[0]


dbt_translator = OutreachDbtTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,  # dbt data tests -> asset checks (the default, made explicit)
        # tests on dbt sources -> checks on the loader assets (raw_intake/companies, ...)
        enable_source_tests_as_checks=True,
    )
)


MANIFEST_PATH = prepare_manifest(outreach_dbt_project)


def _counted_relations(manifest_path: Path) -> dict[dg.AssetKey, tuple[str, str]]:
    """Asset key -> (schema, relation) of every node dbt builds as a table (not a view)."""
    manifest = json.loads(manifest_path.read_text())
    return {
        dbt_translator.get_asset_key(node): (node["schema"], node.get("alias") or node["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] in {"model", "seed", "snapshot"}
        and node["config"].get("materialized") not in {"view", "ephemeral"}
    }


COUNTED = _counted_relations(MANIFEST_PATH)


@dbt_assets(
    manifest=MANIFEST_PATH,
    project=outreach_dbt_project,
    dagster_dbt_translator=dbt_translator,
    name="dbt_build",
)
def outreach_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    """``dbt build`` of the selected models, their tests as checks; row counts attached.
    Recorded as a ``dbt.build`` pipeline event (outreach/events.py)."""
    from outreach.raw import ensure_all_raw_tables

    # sources of loaders that have not run yet still need their (empty) raw tables
    for created in ensure_all_raw_tables(warehouse.url()):
        context.log.info(f"created the empty raw tables of {created}")
    from outreach.events import recording

    payload = {"runner": "dagster", "run_id": context.run_id}
    with (
        recording(warehouse.url(), "dbt.build", payload) as event,
        warehouse.dbt_environment(),
    ):
        events = dbt.cli(["build"], context=context).stream()
        yield from _with_row_counts(context, events, warehouse)
        event.update(selected=len(context.selected_output_names))


def _with_row_counts(context: dg.AssetExecutionContext, events, warehouse: WarehouseResource):
    """Attach ``dagster/row_count`` to each table a dbt event reports as built.

    Not dagster-dbt's ``fetch_row_counts()``: it counts ``relation_name`` from the manifest
    of load time, which names the database the project was parsed against; a run against
    another database (OUTREACH_DATABASE_URL changed since, a test database) would count
    the wrong table or none. Count ``<schema>.<relation>`` on the run's own connection
    instead. Views are not counted (that would run their query).
    """
    with warehouse.connect(autocommit=True) as conn:
        for event in events:
            if isinstance(event, dg.Output):
                relation = COUNTED.get(context.asset_key_for_output(event.output_name))
                if relation is not None:
                    query = sql.SQL("select count(*) from {}.{}").format(
                        *map(sql.Identifier, relation)
                    )
                    rows = conn.execute(query).fetchone()[0]
                    event = event.with_metadata(
                        {**event.metadata, "dagster/row_count": dg.MetadataValue.int(rows)}
                    )
            yield event
