"""The dbt project as Dagster sees it, and its manifest.

The manifest is produced when the code location loads, so a fresh clone (no
``dbt_project/target``) works both under ``dagster dev`` and in plain Python (tests,
``dagster job execute``). It is parsed when it is missing or older than any project file
(models, macros, seeds, dbt_project.yml, profiles.yml), so an edit shows up on "Reload
definitions" in the UI, and an unchanged project loads without a parse.

``dbt parse`` does not connect, but profiles.yml requires the OUTREACH_PG_* variables:
those already set (``outreach ui`` sets them) are used, else the warehouse's coordinates
(without starting the embedded server), else placeholders.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from filelock import FileLock

from outreach.settings import DBT_PROJECT_DIR, PROJECT_ROOT

outreach_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=PROJECT_ROOT)

# The dbt next to this Python: `outreach ui` starts .venv/bin/dagster without the venv on
# PATH, where dagster-dbt's default ("dbt" from PATH) would not be found.
_venv_dbt = Path(sys.executable).parent / "dbt"
DBT_EXECUTABLE = str(_venv_dbt) if _venv_dbt.exists() else "dbt"

# What `dbt parse` reads; a change to any of these makes the manifest stale.
_PROJECT_INPUTS = [
    DBT_PROJECT_DIR / "dbt_project.yml",
    DBT_PROJECT_DIR / "packages.yml",
    DBT_PROJECT_DIR / "dependencies.yml",
    DBT_PROJECT_DIR / "models",
    DBT_PROJECT_DIR / "macros",
    DBT_PROJECT_DIR / "snapshots",
    DBT_PROJECT_DIR / "tests",
    PROJECT_ROOT / "seeds",
    PROJECT_ROOT / "profiles.yml",
]


def _newest_input_mtime() -> float:
    """Newest mtime of the parse inputs; folders count too (a deleted file changes them)."""
    newest = 0.0
    for path in _PROJECT_INPUTS:
        if not path.exists():
            continue
        newest = max(newest, path.stat().st_mtime)
        if path.is_dir():
            for child in path.rglob("*"):
                newest = max(newest, child.stat().st_mtime)
    return newest


def manifest_is_stale(project: DbtProject = outreach_dbt_project) -> bool:
    manifest = project.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _newest_input_mtime()


@contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def parse_environment() -> dict[str, str]:
    """OUTREACH_PG_* values for a ``dbt parse`` that are not in the environment already."""
    from outreach.dbt import dbt_env
    from outreach.embedded import EmbeddedError
    from outreach.warehouse import database_url

    try:
        values = dbt_env(database_url(start=False))
    except EmbeddedError:  # embedded server never started: parse needs names, not a server
        values = {
            "OUTREACH_PG_HOST": "127.0.0.1",
            "OUTREACH_PG_PORT": "1",
            "OUTREACH_PG_USER": "outreach",
            "OUTREACH_PG_DBNAME": "outreach",
        }
    return {
        key: value
        for key, value in values.items()
        if key.startswith("OUTREACH_PG_") and key not in os.environ
    }


def dbt_cli(project: DbtProject = outreach_dbt_project) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)


def _parse(project: DbtProject) -> None:
    cli = dbt_cli(project)
    has_packages = any(
        (project.project_dir / name).exists() for name in ("packages.yml", "dependencies.yml")
    )
    with environ(parse_environment()):
        if has_packages:
            cli.cli(["deps", "--quiet"], target_path=project.target_path).wait()
        cli.cli(["parse", "--quiet"], target_path=project.target_path).wait()


def prepare_manifest(project: DbtProject = outreach_dbt_project) -> Path:
    """Make sure ``project.manifest_path`` exists and is current; return it.

    Like ``DbtProject.prepare_if_dev()`` (which re-parses on every load under
    ``dagster dev``), but with our dbt executable, also outside ``dagster dev``, and only
    when the manifest is missing or older than a project file: a parse costs 10-20 s and
    ``dagster dev`` loads the code location in more than one process. A file lock keeps
    parallel loads from parsing at once; who waited re-checks and usually finds it done.
    """
    if manifest_is_stale(project):
        project.manifest_path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(project.manifest_path.with_suffix(".parse-lock")), timeout=600):
            if manifest_is_stale(project):
                _parse(project)
    return project.manifest_path
