"""Nothing published ever vanishes: partial builds, from the CLI and from Dagster, leave every
relation the project builds present, answering and current.

dbt-postgres replaces a table or view by dropping the old one with CASCADE, which takes every
view built on it (docs/decisions.md). One full build on a fresh database, then partial builds
of the published relations' parents — the ones the issue names and every direct parent the
dbt manifest lists — and after each: every relation exists, every published one answers
``select 1 ... limit 1``, and every view has the columns and comments it had after the full
build and reads live relations (not a renamed-away backup).

The published relations come from one place: ``outreach.published`` (the dbt manifest's
nodes in the published schemas).
"""

from __future__ import annotations

import os

import dagster as dg
import psycopg
import pytest
from psycopg import sql

from outreach.published import (
    built_relations,
    load_manifest,
    published_relations,
)

pytestmark = pytest.mark.slow

# The reports: the README's example, a parent of three published views through a
# view, and the demo's step 9.
NAMED_SELECTIONS = ["marts.company", "int_company_renewals", "kpi_alert_notifications"]


@pytest.fixture(scope="module")
def dbt_paths(warehouse) -> list[str]:
    # the target/log folders tests/conftest.py keeps for this warehouse's stable name
    return [
        "--target-path",
        os.environ["DBT_TARGET_PATH"],
        "--log-path",
        os.environ["DBT_LOG_PATH"],
    ]


def cli(*args: str) -> int:
    from app.cli import main

    return main(["dbt", *args])


@pytest.fixture(scope="module")
def full_build(warehouse, dbt_paths) -> dict:
    """A full build from the CLI; the manifest it used and the views as it left them. (Its
    data tests, on an empty warehouse, would catch nothing: tests/test_dbt_core.py runs them
    on data. The partial builds below run theirs, as a user's do.)"""
    skip_tests = ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
    assert cli("build", "--quiet", *skip_tests, *dbt_paths) == 0
    manifest = load_manifest(dbt_paths[1] + "/manifest.json")
    return {"manifest": manifest, "views": views(warehouse)}


def views(url: str) -> dict[str, tuple[list, str | None]]:
    """schema.name -> (columns with their types and comments, comment) of every view outside
    the system schemas. Not the definition text: ``pg_get_viewdef`` of a re-created view may
    spell the same query differently (``select 'week'::text`` in a union's second branch
    comes back as ``'week'::text AS text``)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select format('%s.%s', n.nspname, c.relname), obj_description(c.oid, 'pg_class'),"
            " (select array_agg(array[a.attname::text, format_type(a.atttypid, a.atttypmod),"
            "  coalesce(col_description(c.oid, a.attnum), '')] order by a.attnum)"
            "  from pg_attribute as a where a.attrelid = c.oid and a.attnum > 0)"
            " from pg_class as c join pg_namespace as n on c.relnamespace = n.oid"
            " where c.relkind = 'v' and n.nspname not in ('pg_catalog', 'information_schema')"
        ).fetchall()
    return {name: (columns, comment) for name, comment, columns in rows}


def parents_of_published(manifest: dict) -> list[str]:
    """Model names that are direct parents of a published relation, published views excluded
    (building those would bring them back whatever happens to their parents)."""
    published_views = {
        r.unique_id for r in published_relations(manifest) if r.materialized == "view"
    }
    parents = {
        parent
        for relation in published_relations(manifest)
        for parent in manifest["nodes"][relation.unique_id]["depends_on"]["nodes"]
        if parent.startswith("model.") and parent not in published_views
    }
    return sorted(manifest["nodes"][p]["name"] for p in parents)


def assert_nothing_vanished(url: str, full_build: dict) -> None:
    manifest = full_build["manifest"]
    with psycopg.connect(url, autocommit=True) as conn:
        missing = [
            str(r)
            for r in built_relations(manifest)
            if conn.execute("select to_regclass(%s)", (f'"{r.schema}"."{r.name}"',)).fetchone()[0]
            is None
        ]
        assert not missing, f"relations missing after the build: {missing}"
        for relation in published_relations(manifest):
            query = sql.SQL("select 1 from {}.{} limit 1").format(
                sql.Identifier(relation.schema), sql.Identifier(relation.name)
            )
            conn.execute(query)  # raises if it does not answer
        stale = conn.execute(
            "select distinct format('%s.%s', vn.nspname, v.relname), p.relname"
            " from pg_depend as d"
            " join pg_rewrite as r on d.objid = r.oid and d.classid = 'pg_rewrite'::regclass"
            " join pg_class as v on r.ev_class = v.oid"
            " join pg_namespace as vn on v.relnamespace = vn.oid"
            " join pg_class as p on d.refobjid = p.oid and d.refclassid = 'pg_class'::regclass"
            " where p.relname like '%%__dbt_backup' or p.relname like '%%__dbt_tmp'"
        ).fetchall()
        assert not stale, f"views reading a replaced relation: {stale}"
    assert views(url) == full_build["views"]


def test_the_full_build_leaves_every_published_relation(warehouse, full_build):
    published = published_relations(full_build["manifest"])
    # the contract's views are among them
    assert {"company.vw_company_slots", "marketing.outbox_delivery_state"} <= set(
        map(str, published)
    )
    assert_nothing_vanished(warehouse, full_build)


@pytest.mark.parametrize("selection", NAMED_SELECTIONS)
def test_a_partial_cli_build_leaves_every_relation(
    warehouse, full_build, dbt_paths, selection, capfd
):
    assert cli("build", "-s", selection, *dbt_paths) == 0
    out = capfd.readouterr().out
    assert "Completed successfully" in out  # not --quiet: dbt's warnings would show here
    assert "could not be re-created" not in out
    assert_nothing_vanished(warehouse, full_build)


def test_a_cli_build_of_every_parent_of_a_published_relation_leaves_every_relation(
    warehouse, full_build, dbt_paths, capfd
):
    parents = parents_of_published(full_build["manifest"])
    assert {"company", "int_company_renewals", "kpi_alert_notifications"} <= set(parents)
    assert cli("build", "-s", *parents, *dbt_paths) == 0
    out = capfd.readouterr().out
    assert "Completed successfully" in out  # not --quiet: dbt's warnings would show here
    assert "could not be re-created" not in out
    assert_nothing_vanished(warehouse, full_build)


def dagster_keys(manifest: dict, names: list[str]) -> list:
    from orchestration.assets.dbt import dbt_translator

    by_name = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    return [dbt_translator.get_asset_key(by_name[name]) for name in names]


def test_materializing_parents_from_dagster_leaves_every_relation(warehouse, full_build, tmp_path):
    from orchestration.assets.dbt import outreach_dbt_assets
    from orchestration.resources import build_resources

    manifest = full_build["manifest"]
    # the three, and the first parent (by name) of every published view
    published_views = [r for r in published_relations(manifest) if r.materialized == "view"]
    names = {"company", "int_company_renewals", "kpi_alert_notifications"}
    for view in published_views:
        parents = sorted(
            manifest["nodes"][p]["name"]
            for p in manifest["nodes"][view.unique_id]["depends_on"]["nodes"]
            if p.startswith("model.")
        )
        names.update(parents[:1])
    names -= {view.name for view in published_views}
    result = dg.materialize(
        [outreach_dbt_assets],
        selection=dagster_keys(manifest, sorted(names)),
        resources=build_resources(),
        instance=dg.DagsterInstance.ephemeral(
            tempdir=str(tmp_path), settings={"telemetry": {"enabled": False}}
        ),
        raise_on_error=False,
    )
    assert result.success
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "company/company" in built and "marketing/kpi_alert_notifications" in built
    assert_nothing_vanished(warehouse, full_build)


def test_the_refresh_plan_skips_the_intake_chain_until_intake_changes(warehouse, full_build):
    """The refresh (issue 18) after a full build: the new Apify data's downstream plus the
    sources without a load-time column, not the intake chain; the Dagster schedule plans
    the same dbt assets; an intake row loaded after the last covering build puts intake's
    downstream into the plan. (A refresh is a partial build, which the tests above show
    leaves every relation; tests/test_change_detection.py runs one on data.)"""
    from orchestration.assets.dbt import NODE_IDS, refresh_asset_keys
    from outreach.refresh import built_descendants, refresh_plan

    manifest = full_build["manifest"]
    plan = refresh_plan(warehouse, manifest)
    assert "source:apify.profile_items+" in plan.select
    assert not {"source:intake.people+", "source:intake.companies+"} & set(plan.select)
    planned = set().union(*(built_descendants(manifest, uid) for uid in plan.covered_sources))
    assert "model.outreach.people_master" in planned
    assert "model.outreach.int_person_employers_resolved" not in planned
    keys = refresh_asset_keys(warehouse)  # the monthly schedule's run request
    materialized = {  # ephemeral models are no assets
        uid for uid in planned if manifest["nodes"][uid]["config"]["materialized"] != "ephemeral"
    }
    assert {NODE_IDS[k] for k in keys} == materialized
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute(
            "insert into raw_intake.people (_row_key, _loaded_at, full_name, _extra, _dlt_id,"
            " _dlt_load_id) values ('planted-refresh', now(), 'Planted Person', '{}', 'x', 'x')"
        )
        try:
            assert "source:intake.people+" in refresh_plan(warehouse, manifest).select
        finally:
            conn.execute("delete from raw_intake.people where _row_key = 'planted-refresh'")


def test_a_view_made_outside_dbt_on_a_mart_survives_its_rebuild(warehouse, full_build, dbt_paths):
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute("create schema if not exists bi_tool")
        conn.execute(
            "create view bi_tool.companies_by_state as"
            " select state_region, count(*) as companies from company.company group by 1"
        )
        conn.execute("comment on view bi_tool.companies_by_state is 'the BI tool''s own'")
    try:
        assert cli("build", "--quiet", "-s", "company", *dbt_paths) == 0
        with psycopg.connect(warehouse) as conn:
            assert conn.execute(
                "select obj_description('bi_tool.companies_by_state'::regclass, 'pg_class')"
            ).fetchone() == ("the BI tool's own",)
            conn.execute("select * from bi_tool.companies_by_state").fetchall()
    finally:
        with psycopg.connect(warehouse, autocommit=True) as conn:
            conn.execute("drop schema bi_tool cascade")
    assert_nothing_vanished(warehouse, full_build)
