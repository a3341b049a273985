"""Report CLI work to Dagster: runless materializations and asset check evaluations.

``outreach load …`` and ``outreach dbt build|run|test|seed|snapshot`` run outside Dagster;
``app.dagster_report`` calls these functions afterwards so the UI's history matches
the warehouse (``DagsterInstance.report_runless_asset_event``, Dagster's external asset
reporting API). The asset keys come from the code location itself, never from a hand
list: a loader's keys from its multi-asset (found by its ``outreach/loader`` op tag), a
dbt node's key and a dbt test's check key from the project's translator
(``orchestration.assets.dbt.dbt_translator``) applied to the manifest of the run.

Every event carries ``reported_by: outreach-cli`` and the dbt command, so the UI tells
them from materializations of Dagster runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
from psycopg import sql

from orchestration.metadata import plot_metadata

REPORTED_BY = "outreach-cli"
_MATERIALIZING = {"model", "seed", "snapshot"}
_CHECK_STATUS = {"pass": True, "warn": False, "fail": False, "error": False}


def _record(home: Path, events: Sequence[Any]) -> None:
    """Write the events to the Dagster instance at ``home`` (its dagster.yaml), then close it."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for event in events:
            instance.report_runless_asset_event(event)


def _metadata_value(value: Any) -> dg.MetadataValue:
    if isinstance(value, dg.MetadataValue):
        return value
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    if isinstance(value, Mapping | list | tuple):
        return dg.MetadataValue.json(value)
    return dg.MetadataValue.text(str(value))


def _count_rows(conn, key: dg.AssetKey, relation: tuple[str, str] | None = None) -> int | None:
    schema, name = relation or (key.path[0], key.path[-1])
    query = sql.SQL("select count(*) from {}.{}").format(
        sql.Identifier(schema), sql.Identifier(name)
    )
    try:
        return conn.execute(query).fetchone()[0]
    except psycopg.Error:  # a relation the run did not create is not counted
        return None


# ---------------------------------------------------------------------------- loads
def loader_assets() -> list[dg.AssetsDefinition]:
    """The loader multi-assets of the code location (those with an ``outreach/loader`` tag)."""
    from orchestration.assets.ads import linkedin_ads_load
    from orchestration.assets.apify import apify_refresh_assets
    from orchestration.assets.company_pages import company_pages_assets
    from orchestration.assets.loads import intake_assets
    from orchestration.assets.verifier import verifier_assets

    return [
        intake_assets,
        apify_refresh_assets,
        verifier_assets,
        linkedin_ads_load,
        company_pages_assets,
    ]


def loader_keys(loader: str) -> list[dg.AssetKey]:
    """Asset keys a loader (``intake``, ``apify_linkedin``, ``millionverifier``,
    ``linkedin_ads``) materializes, as its Dagster asset does."""
    for assets_def in loader_assets():
        if assets_def.op.tags.get("outreach/loader") == loader:
            return sorted(assets_def.keys, key=str)
    raise KeyError(f"no loader asset tagged outreach/loader={loader!r}")


def _intake_metadata(summary: Any) -> dict[str, Mapping[str, Any]]:
    from orchestration.assets.loads import _table_metadata

    stats = {st.entity: st for st in summary.entities}
    return {
        table: _table_metadata(table, stats, summary.quarantine_new)
        for table in ("companies", "people", "deals", "quarantine")
    }


def _apify_metadata(result: Any) -> dict[str, Mapping[str, Any]]:
    summary = result.summary()
    items = {k: v for k, v in summary.items() if k != "jobs_table" and v is not None}
    items["jobs_table"] = dg.MetadataValue.md(summary["jobs_table"])
    return {
        "profile_items": items,
        "refresh_jobs": {"jobs": summary["jobs"], "jobs_failed": summary["jobs_failed"]},
    }


def _verifier_metadata(summary: Any) -> dict[str, Mapping[str, Any]]:
    return {
        "email_checks": {
            "run_id": summary.run_id,
            "status": summary.status,
            "method": summary.method,
            "emails_requested": summary.requested,
            "emails_answered": summary.answered,
            "emails_unanswered": summary.unanswered_total,
            "results": dict(sorted(summary.by_result.items())),
        },
        "verification_runs": {"run_id": summary.run_id, "status": summary.status},
    }


def _ads_metadata(summary: Any) -> dict[str, Mapping[str, Any]]:
    return {
        "campaign_analytics": {
            "rows_fetched": summary.total("rows"),
            "rows_new": summary.total("new"),
            "rows_restated": summary.total("restated"),
            "rows_unchanged": summary.total("unchanged"),
            "rows_zeroed": summary.total("zeroed"),
        },
        "pulls": {"accounts": summary.as_dict()["accounts"]},
    }


# loader -> its summary's metadata per table, as the loader's Dagster asset gives it
_LOAD_METADATA = {
    "linkedin_ads": _ads_metadata,
    "intake": _intake_metadata,
    "apify_linkedin": _apify_metadata,
    "millionverifier": _verifier_metadata,
}


def report_load_results(home: Path, url: str, loader: str, summary: Any) -> int:
    """One materialization per asset of ``loader``: row count, duration, the metadata the
    Dagster asset gives the same load."""
    from outreach.warehouse import connect

    keys = loader_keys(loader)
    extra = (
        _LOAD_METADATA[loader](summary) if summary is not None and loader in _LOAD_METADATA else {}
    )
    seconds = getattr(summary, "seconds", None)
    events = []
    with connect(url, autocommit=True) as conn:
        for key in keys:
            meta: dict[str, Any] = {"reported_by": REPORTED_BY}
            rows = _count_rows(conn, key)
            if rows is not None:
                meta["dagster/row_count"] = dg.MetadataValue.int(rows)
            if isinstance(seconds, int | float):
                meta["duration_s"] = round(float(seconds), 3)
            meta.update(extra.get(key.path[-1], {}))
            events.append(
                dg.AssetMaterialization(
                    asset_key=key,
                    description=f"outreach load ({loader}), run outside Dagster",
                    metadata={k: _metadata_value(v) for k, v in meta.items()},
                )
            )
    _record(home, events)
    return len(events)


# ---------------------------------------------------------------------------- dbt
def _target_dir(args: Sequence[str]) -> Path:
    import os

    from outreach.settings import DBT_PROJECT_DIR

    for i, arg in enumerate(args):
        if arg == "--target-path" and i + 1 < len(args):
            return DBT_PROJECT_DIR / args[i + 1]
        if arg.startswith("--target-path="):
            return DBT_PROJECT_DIR / arg.split("=", 1)[1]
    return DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")


def dbt_events(
    manifest: Mapping[str, Any], run_results: Mapping[str, Any], command: str
) -> list[tuple[str, Any]]:
    """(unique_id, event without row count) for each node the run built or tested."""
    from dagster_dbt.asset_utils import get_asset_check_key_for_test

    from orchestration.assets.dbt import dbt_translator
    from orchestration.dbt_project import outreach_dbt_project

    out: list[tuple[str, Any]] = []
    for result in run_results.get("results", []):
        unique_id = result["unique_id"]
        node = manifest["nodes"].get(unique_id)
        if node is None:
            continue
        status = str(result.get("status"))
        base = {
            "reported_by": dg.MetadataValue.text(REPORTED_BY),
            "dbt_command": dg.MetadataValue.text(command),
            "unique_id": dg.MetadataValue.text(unique_id),
            "invocation_id": dg.MetadataValue.text(
                run_results.get("metadata", {}).get("invocation_id", "")
            ),
            "Execution Duration": dg.MetadataValue.float(
                round(float(result.get("execution_time") or 0), 3)
            ),
        }
        if node["resource_type"] in _MATERIALIZING and status == "success":
            key = dbt_translator.get_asset_spec(manifest, unique_id, outreach_dbt_project).key
            out.append((unique_id, dg.AssetMaterialization(asset_key=key, metadata=base)))
        elif node["resource_type"] == "test" and status in _CHECK_STATUS:
            check_key = get_asset_check_key_for_test(
                manifest, dbt_translator, unique_id, outreach_dbt_project
            )
            if check_key is None:
                continue
            failures = result.get("failures")
            meta = {**base, "status": dg.MetadataValue.text(status)}
            if failures is not None:
                meta["dagster_dbt/failed_row_count"] = dg.MetadataValue.int(int(failures))
            out.append(
                (
                    unique_id,
                    dg.AssetCheckEvaluation(
                        asset_key=check_key.asset_key,
                        check_name=check_key.name,
                        passed=_CHECK_STATUS[status],
                        severity=dg.AssetCheckSeverity.WARN
                        if status == "warn"
                        else dg.AssetCheckSeverity.ERROR,
                        metadata=meta,
                        description=result.get("message") or None,
                    ),
                )
            )
    return out


def report_dbt_results(home: Path, url: str, args: Sequence[str], started: float) -> int:
    """Report what a dbt command did from its run_results.json and manifest.json; a
    run_results.json older than ``started`` (the command failed before writing one) is
    an earlier command's and is not reported."""
    from outreach.warehouse import connect

    target = _target_dir(args)
    results_path, manifest_path = target / "run_results.json", target / "manifest.json"
    if not results_path.exists() or results_path.stat().st_mtime < started - 1:
        return 0
    run_results = json.loads(results_path.read_text())
    manifest = json.loads(manifest_path.read_text())
    events = dbt_events(manifest, run_results, " ".join(["dbt", *args]))
    if not events:
        return 0
    with connect(url, autocommit=True) as conn:
        for i, (unique_id, event) in enumerate(events):
            if not isinstance(event, dg.AssetMaterialization):
                continue
            plots = plot_metadata(conn, event.asset_key)  # the domain's plot, as Dagster runs
            if plots:
                event = event.with_metadata({**event.metadata, **plots})
                events[i] = (unique_id, event)
            node = manifest["nodes"][unique_id]
            if node["config"].get("materialized") in {"view", "ephemeral"}:
                continue  # counting a view runs its query
            relation = (node["schema"], node.get("alias") or node["name"])
            rows = _count_rows(conn, event.asset_key, relation)
            if rows is not None:
                events[i] = (
                    unique_id,
                    event.with_metadata(
                        {**event.metadata, "dagster/row_count": dg.MetadataValue.int(rows)}
                    ),
                )
    _record(home, [event for _, event in events])
    return len(events)
