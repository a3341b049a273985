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
from orchestration.domains import INTAKE, OWNER, dbt_domains, source_domain
from orchestration.metadata import plot_metadata
from orchestration.resources import WarehouseResource


class OutreachDbtTranslator(DagsterDbtTranslator):
    """dbt nodes -> asset keys by relation; groups by domain (orchestration/domains.py);
    one owner; every dbt test check with a description."""

    def __init__(
        self,
        domains: Mapping[str, str] | None = None,
        settings: DagsterDbtTranslatorSettings | None = None,
    ) -> None:
        super().__init__(settings=settings)
        self.domains = dict(domains or {})

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
        unique_id = dbt_resource_props.get("unique_id", "")
        if unique_id in self.domains:
            return self.domains[unique_id]
        if unique_id.startswith("source."):
            return source_domain(dbt_resource_props)
        return INTAKE

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return [OWNER]

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        test = manifest["nodes"][unique_id]
        description = test.get("description") or describe_test(test, manifest)
        return spec._replace(description=description)


def describe_test(test: Mapping[str, Any], manifest: Mapping[str, Any]) -> str:
    """A readable line for a dbt test without a description, from its name and kwargs:
    ``accepted_values on company_renewal.month: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12``."""
    meta = test.get("test_metadata") or {}
    parents = test.get("depends_on", {}).get("nodes", [])
    attached_id = test.get("attached_node") or (parents[0] if len(parents) == 1 else "")
    attached = manifest["nodes"].get(attached_id) or manifest["sources"].get(attached_id) or {}
    target = attached.get("alias") or attached.get("name") or "?"
    if attached.get("resource_type") == "source":
        target = f"{attached['schema']}.{attached.get('identifier') or attached['name']}"
    if not meta:  # a singular test: a query that must return no rows
        path = test.get("original_file_path") or test["name"]
        return f"singular test {path}: passes when its query returns no rows"
    kwargs = meta.get("kwargs") or {}
    column = test.get("column_name") or kwargs.get("column_name")
    where = f"{target}.{column}" if column else target
    details = []
    for name, value in kwargs.items():
        if name in {"model", "column_name"}:
            continue
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        elif isinstance(value, str):
            value = value.replace("{{ ", "").replace(" }}", "")
        details.append(str(value) if name == "values" else f"{name}={value}")
    namespace = f"{meta['namespace']}." if meta.get("namespace") else ""
    name = f"{namespace}{meta.get('name', test['name'])}"
    return f"{name} on {where}" + (f": {'; '.join(details)}" if details else "")


MANIFEST_PATH = prepare_manifest(outreach_dbt_project)

dbt_translator = OutreachDbtTranslator(
    domains=dbt_domains(json.loads(MANIFEST_PATH.read_text())),
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,  # dbt data tests -> asset checks (the default, made explicit)
        # tests on dbt sources -> checks on the loader assets (raw_intake/companies, ...)
        enable_source_tests_as_checks=True,
    ),
)


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


def _built_node_ids(manifest_path: Path) -> dict[dg.AssetKey, str]:
    """Asset key -> unique id of every model, seed and snapshot."""
    manifest = json.loads(manifest_path.read_text())
    return {
        dbt_translator.get_asset_key(node): uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in {"model", "seed", "snapshot"}
    }


NODE_IDS = _built_node_ids(MANIFEST_PATH)


def refresh_asset_keys(url: str) -> list[dg.AssetKey]:
    """The dbt assets of the monthly refresh (outreach/refresh.py's plan, as the CLI's
    ``outreach refresh`` builds them): the new Apify data's downstream plus what is stale;
    every dbt asset when the plan is a full build."""
    from outreach.refresh import built_descendants, refresh_plan

    manifest = json.loads(MANIFEST_PATH.read_text())
    plan = refresh_plan(url, manifest)
    ours = set(outreach_dbt_assets.keys)
    if plan.full:
        return sorted(ours)
    nodes = set().union(*(built_descendants(manifest, uid) for uid in plan.covered_sources))
    keys = {key for key, uid in NODE_IDS.items() if uid in nodes}
    return sorted(keys & ours)


def covered_sources(selected: set[dg.AssetKey]) -> list[str]:
    """The dbt sources a build of these assets leaves current (outreach/refresh.py)."""
    from outreach.refresh import ALL, covered_by

    manifest = json.loads(MANIFEST_PATH.read_text())
    if set(NODE_IDS) <= selected:
        return [ALL]
    return covered_by(manifest, (NODE_IDS[k] for k in selected if k in NODE_IDS))


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
    from orchestration.raw_tables import raw_table_owners
    from outreach.raw import ensure_all_raw_tables

    # sources of loaders that have not run yet still need their (empty) raw tables
    for created in ensure_all_raw_tables(warehouse.url(), raw_table_owners()):
        context.log.info(f"created the empty raw tables of {created}")
    from outreach.events import recording

    payload = {"runner": "dagster", "run_id": context.run_id}
    with (
        recording(warehouse.url(), "dbt.build", payload) as event,
        warehouse.dbt_environment(),
    ):
        events = dbt.cli(["build"], context=context).stream()
        yield from _with_row_counts(context, events, warehouse)
        event.update(
            selected=len(context.selected_output_names),
            covered_sources=covered_sources(set(context.selected_asset_keys)),
        )


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
                asset_key = context.asset_key_for_output(event.output_name)
                relation = COUNTED.get(asset_key)
                if relation is not None:
                    query = sql.SQL("select count(*) from {}.{}").format(
                        *map(sql.Identifier, relation)
                    )
                    rows = conn.execute(query).fetchone()[0]
                    event = event.with_metadata(
                        {**event.metadata, "dagster/row_count": dg.MetadataValue.int(rows)}
                    )
                plots = plot_metadata(
                    conn, asset_key
                )  # the domain's plot (orchestration/metadata.py)
                if plots:
                    event = event.with_metadata({**event.metadata, **plots})
            yield event
