"""The monthly refresh build: what a new Apify dataset changes, plus what is stale.

A month's refresh brings one new dataset into ``raw_apify``; the intake-derived chain
(employers resolved, identity aliases, the key maps, deduplicated records, company slots)
reads none of it, and rebuilding it from an unchanged intake cost most of a refresh
(issue 18). So the refresh builds ``source:apify+`` and, of every other dbt source, its
downstream (``source:<source>.<table>+``) only when it is stale:

- a source whose load-time column (``loaded_at_field`` of ``_loaded_at``, ``loaded_at`` or
  ``received_at``: stamped when a row lands) has a row newer than the start of the last
  successful build that covered it;
- a source without such a column: always (it cannot tell; those feed small models only);
- everything, when no successful build covered a source yet (a first build is a full one).

A build "covers" a source when it rebuilt everything downstream of it: a ``dbt build``
or ``dbt run`` without a node selection covers all of them; a refresh the sources it
selected; a Dagster run the sources whose downstream models were all selected. The
pipeline event of each build (``raw_ops.pipeline_events``, ``dbt.build``) records it as
``covered_sources`` (``["*"]``: all). Changed model SQL is not new data: after a code
change run a full ``dbt build``.

One entry point for the CLI (``outreach refresh``) and Dagster (the monthly schedule's run
request): ``refresh_plan``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

ALWAYS = ("apify",)  # the sources a refresh exists for: always built
LOAD_TIME_COLUMNS = {"_loaded_at", "loaded_at", "received_at"}
ALL = "*"
SELECT_FLAGS = {"-s", "--select", "-m", "--models", "--exclude", "--selector", "--inline"}
BUILD_EVENTS = ("dbt.build", "dbt.run")


@dataclass(frozen=True)
class RefreshPlan:
    """What a refresh builds: ``select`` (dbt --select arguments; empty = everything),
    the sources it covers and, per other source, why it is in or out."""

    select: list[str]
    covered_sources: list[str]
    reasons: dict[str, str]

    @property
    def full(self) -> bool:
        return not self.select

    def dbt_args(self) -> list[str]:
        return ["build", *(["--select", *self.select] if self.select else [])]


def source_selector(source: Mapping[str, Any]) -> str:
    return f"source:{source['source_name']}.{source['name']}+"


def _descendants(manifest: Mapping[str, Any], unique_id: str) -> set[str]:
    children, seen, todo = manifest["child_map"], set(), [unique_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def built_descendants(manifest: Mapping[str, Any], unique_id: str) -> set[str]:
    """The models, seeds and snapshots downstream of a node (tests left out)."""
    return {
        n
        for n in _descendants(manifest, unique_id)
        if n.split(".", 1)[0] in {"model", "seed", "snapshot"}
    }


def covered_by(manifest: Mapping[str, Any], selected: Iterable[str]) -> list[str]:
    """The sources whose downstream models, seeds and snapshots are all in ``selected``
    (unique ids): a build of ``selected`` leaves them current."""
    chosen = set(selected)
    return sorted(
        uid
        for uid in manifest["sources"]
        if (below := built_descendants(manifest, uid)) and below <= chosen
    )


def covered_by_args(args: list[str]) -> list[str] | None:
    """``["*"]`` for a building dbt command without a node selection, else None (unknown)."""
    if args[:1] and args[0] in {"build", "run"} and not SELECT_FLAGS & set(args):
        return [ALL]
    return None


def last_covered(url: str) -> dict[str, datetime]:
    """Per source unique id (and ``"*"``): the start of the latest successful build that
    covered it."""
    query = """
        select coalesce(covered.source, '*'), max(e.created_at)
        from raw_ops.pipeline_events as e
        cross join lateral jsonb_array_elements_text(e.payload -> 'covered_sources')
            as covered (source)
        where e.event_type = any(%s) and e.status = 'processed'
            and jsonb_typeof(e.payload -> 'covered_sources') = 'array'
        group by 1
    """
    with psycopg.connect(url) as conn:
        if conn.execute("select to_regclass('raw_ops.pipeline_events')").fetchone()[0] is None:
            return {}
        return dict(conn.execute(query, (list(BUILD_EVENTS),)).fetchall())


def _has_rows_since(conn: psycopg.Connection, source: Mapping[str, Any], since: datetime) -> bool:
    table = sql.Identifier(source["schema"], source["identifier"])
    column = sql.Identifier(source["loaded_at_field"])
    exists = conn.execute(
        "select to_regclass(%s)", (f'"{source["schema"]}"."{source["identifier"]}"',)
    ).fetchone()[0]
    if exists is None:
        return False  # not landed yet: its models read the empty table the build creates
    query = sql.SQL("select exists (select from {} where {} > %s)").format(table, column)
    return bool(conn.execute(query, (since,)).fetchone()[0])


def refresh_plan(url: str, manifest: Mapping[str, Any]) -> RefreshPlan:
    """The refresh build for the warehouse at ``url`` (see the module doc)."""
    covered_at = last_covered(url)
    sources = manifest["sources"]
    reasons: dict[str, str] = {}
    selected: list[str] = []
    with psycopg.connect(url) as conn:
        for uid, source in sorted(sources.items()):
            since = max(filter(None, [covered_at.get(uid), covered_at.get(ALL)]), default=None)
            field = source.get("loaded_at_field") or source["config"].get("loaded_at_field")
            if source["source_name"] in ALWAYS:
                reason = "new data (refreshed)"
            elif since is None:
                reason = "never built"
            elif field not in LOAD_TIME_COLUMNS:
                reason = "no load-time column: always built"
            elif _has_rows_since(conn, {**source, "loaded_at_field": field}, since):
                reason = f"rows loaded since {since:%Y-%m-%d %H:%M:%S%z}"
            else:
                reasons[uid] = f"unchanged since {since:%Y-%m-%d %H:%M:%S%z}"
                continue
            reasons[uid] = reason
            selected.append(uid)
    if any(reasons[uid] == "never built" for uid in selected):
        return RefreshPlan([], [ALL], reasons)  # a first build is a full one
    chosen = set(selected)
    select = sorted(
        source_selector(sources[uid])
        for uid in chosen
        if built_descendants(manifest, uid)  # a source no model reads needs no selector
    )
    return RefreshPlan(select, sorted(chosen), reasons)


# the options of the build that `dbt parse` takes too (each with one value)
PARSE_OPTIONS = {"--target-path", "--log-path", "--vars", "--target", "-t", "--profile",
                 "--profiles-dir", "--project-dir"}  # fmt: skip


def parse_args(extra_args: list[str]) -> list[str]:
    """Of the build's extra arguments, those ``dbt parse`` accepts (paths, vars, target)."""
    out = []
    for i, arg in enumerate(extra_args):
        name = arg.split("=", 1)[0]
        if name in PARSE_OPTIONS:
            out += [arg] if "=" in arg else extra_args[i : i + 2]
    return out


def _target_path(extra_args: list[str]) -> Path:
    if "--target-path" in extra_args:
        return Path(extra_args[extra_args.index("--target-path") + 1])
    from outreach.settings import DBT_PROJECT_DIR

    return Path(os.environ.get("DBT_TARGET_PATH") or DBT_PROJECT_DIR / "target")


def run_refresh(
    url: str,
    run_dbt: Callable[..., Any],
    extra_args: Sequence[str] = (),
    say: Callable[[str], object] = print,
    **dbt_kwargs: Any,
) -> tuple[RefreshPlan, Any]:
    """Parse the project, plan the refresh and run its ``dbt build`` with ``run_dbt``
    (``app.dbt.run_dbt`` from the CLI); ``extra_args`` go to the build, and those ``dbt
    parse`` takes to the parse too. Returns the plan and the build's CompletedProcess."""
    extra = list(extra_args)
    chosen = sorted(SELECT_FLAGS & {a.split("=", 1)[0] for a in extra})
    if chosen:  # the plan is the selection: a narrower one would be recorded as covering more
        raise ValueError(f"outreach refresh plans its own selection; drop {', '.join(chosen)}")
    run_dbt(["parse", "--quiet", *parse_args(extra)], url=url)
    manifest = json.loads((_target_path(extra) / "manifest.json").read_text())
    plan = refresh_plan(url, manifest)
    for uid, reason in plan.reasons.items():
        say(f"  {uid.removeprefix('source.').split('.', 1)[-1]}: {reason}")
    say("refresh: dbt " + " ".join(plan.dbt_args()))
    done = run_dbt(
        [*plan.dbt_args(), *extra], url=url, covered_sources=plan.covered_sources, **dbt_kwargs
    )
    return plan, done
