"""Run dbt against the warehouse with the env-driven profile in ``profiles.yml``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from outreach.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from outreach.warehouse import database_url, url_parts


def dbt_env(url: str | None = None) -> dict[str, str]:
    """Environment variables that profiles.yml reads."""
    parts = url_parts(url or database_url())
    return {
        "OUTREACH_PG_HOST": parts["host"],
        "OUTREACH_PG_PORT": parts["port"],
        "OUTREACH_PG_USER": parts["user"],
        "OUTREACH_PG_PASSWORD": parts["password"],
        "OUTREACH_PG_DBNAME": parts["dbname"],
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


BUILDING_COMMANDS = {"build", "run", "test", "seed", "snapshot", "source"}


def run_dbt(args: list[str], *, url: str | None = None, check: bool = True, capture: bool = False):
    """Run the dbt CLI in a subprocess (keeps dbt's globals out of our process).

    Commands that touch the warehouse first make sure every loader's raw tables exist, and
    are recorded as pipeline events (a failed one also as a pipeline error).
    """
    url = url or database_url()
    if BUILDING_COMMANDS & set(args[:1]):
        from outreach.raw import ensure_all_raw_tables

        ensure_all_raw_tables(url)
    env = {**os.environ, **dbt_env(url)}
    dbt = Path(sys.executable).parent / "dbt"
    cmd = [str(dbt), *args] if dbt.exists() else [sys.executable, "-m", "dbt.cli.main", *args]
    if not BUILDING_COMMANDS & set(args[:1]):
        return subprocess.run(cmd, env=env, check=check, text=True, capture_output=capture)
    from outreach.events import recording

    # every building command is a pipeline event (dbt.build, dbt.run, ...): outreach/events.py
    with recording(url, f"dbt.{args[0]}", {"runner": "cli", "args": args}) as event:
        done = subprocess.run(cmd, env=env, check=check, text=True, capture_output=capture)
        event.update(returncode=done.returncode)
        if done.returncode != 0:
            event.fail(f"dbt {' '.join(args)} exited with {done.returncode}")
    return done
