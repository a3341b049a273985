"""The raw tables no loader asset produces: run, error, check and delivery logs in
``raw_ops`` (written by outreach/events.py, exports/outbox.py), campaigns, membership
changes and suppressions in ``raw_campaigns`` (the CLI) and provider events in
``raw_events`` (``outreach serve``, the email-event backfill).

They are external assets: Dagster does not materialize them, but they are the dbt
sources of the ops and outbox models, so they appear in the lineage with a group, a
description (the dbt source's) and a kind. Derived from the manifest's sources, so a new
raw_ops table in ``_ops__sources.yml`` shows up here too.
"""

import json

import dagster as dg

from orchestration.assets.dbt import MANIFEST_PATH, dbt_translator
from orchestration.domains import source_domain

RAW_OPS_SCHEMA = "raw_ops"
APP_OWNED_SCHEMAS = (RAW_OPS_SCHEMA, "raw_campaigns", "raw_events")
# produced by a loader asset of their own (orchestration/assets/company_pages.py)
LOADER_PRODUCED = {(RAW_OPS_SCHEMA, "url_checks")}


def raw_ops_specs(manifest: dict) -> list[dg.AssetSpec]:
    specs = []
    for props in manifest["sources"].values():
        if props["schema"] not in APP_OWNED_SCHEMAS:
            continue
        table = props.get("identifier") or props["name"]
        if (props["schema"], table) in LOADER_PRODUCED:
            continue
        description = props.get("description") or props.get("source_description") or ""
        specs.append(
            dg.AssetSpec(
                key=dbt_translator.get_asset_key(props),
                group_name=source_domain(props),
                description=f"{props['schema']}.{table}: {description}".strip(),
                kinds={"postgres"},
                metadata={"written_by": "outreach (events, exports, CLI, webhook receiver)"},
            )
        )
    return sorted(specs, key=lambda s: s.key.to_user_string())


raw_ops_assets = raw_ops_specs(json.loads(MANIFEST_PATH.read_text()))
