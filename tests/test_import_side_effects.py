"""Importing a module changes nothing: not the environment, not logging, not dlt's telemetry.

Each package module (the packages pyproject.toml installs) is imported in one fresh
interpreter started outside the project, one module after another; after each import the
interpreter compares ``os.environ`` and the logging setup with what they were before it.
dlt's settings live in ``.dlt/config.toml`` and are found by the pipeline factory from any
working directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from outreach.settings import PROJECT_ROOT

# variables our modules used to set with os.environ.setdefault at import: unset for the
# child, so a setdefault would show as a change
TELEMETRY_VARIABLES = (
    "RUNTIME__DLTHUB_TELEMETRY",
    "DBT_SEND_ANONYMOUS_USAGE_STATS",
    "DO_NOT_TRACK",
)

CHECK_IMPORTS = r"""
import importlib, json, logging, os, sys, traceback

def logging_state():
    root = logging.getLogger()
    state = {"root": [root.level, [repr(h) for h in root.handlers], [repr(f) for f in root.filters]]}
    for name, logger in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and logger.filters:
            state[name] = [repr(f) for f in logger.filters]
    return state

changes, failed = [], []
for name in json.loads(sys.stdin.read()):
    env, logs = dict(os.environ), logging_state()
    try:
        importlib.import_module(name)
    except Exception:
        failed.append([name, traceback.format_exc(limit=3)])
        continue
    if dict(os.environ) != env:
        keys = sorted(set(env) ^ set(os.environ) | {k for k in env if os.environ.get(k) != env[k]})
        changes.append([name, "os.environ", keys])
    if logging_state() != logs:
        changes.append([name, "logging", [logs, logging_state()]])
print(json.dumps({"imported": len(sys.modules), "changes": changes, "failed": failed}))
"""


def package_modules() -> list[str]:
    """Every module of the packages pyproject.toml installs, from the file tree."""
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    modules = []
    for package in sorted({p.rstrip("*").rstrip(".") for p in patterns}):
        root = PROJECT_ROOT / package
        if not (root / "__init__.py").exists():
            continue
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules.append(".".join(parts))
    return modules


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY_VARIABLES}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def test_importing_any_package_module_leaves_environment_and_logging_alone(tmp_path):
    modules = package_modules()
    assert {"outreach.dlt_pipelines", "loaders.intake", "orchestration.definitions"} <= set(modules)
    proc = subprocess.run(
        [sys.executable, "-c", CHECK_IMPORTS],
        input=json.dumps(modules),
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the project root: nothing may depend on the working directory
        env=_child_env(),
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failed"] == []
    assert report["changes"] == []
    assert report["imported"] > len(modules)  # the modules and what they import
    assert not list(tmp_path.iterdir())  # and no files appeared in the working directory


PIPELINE_SETTINGS = r"""
import json, sys
from pathlib import Path
import dlt
from dlt.common.runtime import telemetry

# dlt used first from this directory (no .dlt here): its default context starts telemetry
dlt.config.get("runtime.dlthub_telemetry")
before = telemetry.is_telemetry_started()
from outreach.dlt_pipelines import warehouse_pipeline
pipeline = warehouse_pipeline("postgresql://u@127.0.0.1:9/x", "intake", "raw_intake", Path(sys.argv[1]))
print(json.dumps({
    "started_before": before,
    "started_after": telemetry.is_telemetry_started(),
    "telemetry": dlt.config.get("runtime.dlthub_telemetry"),
    "run_dir": pipeline.run_context.run_dir,
    "intake_compression_off": dlt.config.get("intake.normalize.data_writer.disable_compression"),
    "intake_add_dlt_id": dlt.config.get("intake.normalize.parquet_normalizer.add_dlt_id"),
    "delete_completed_jobs": dlt.config.get("load.delete_completed_jobs"),
}))
"""


def test_the_pipeline_factory_reads_the_project_dlt_settings_from_any_directory(tmp_path):
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", PIPELINE_SETTINGS, str(tmp_path / "pipelines")],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=_child_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert Path(got.pop("run_dir")).resolve() == PROJECT_ROOT
    assert got == {
        "started_before": True,  # what the factory has to undo
        "started_after": False,
        "telemetry": False,
        "intake_compression_off": True,
        "intake_add_dlt_id": False,
        "delete_completed_jobs": True,
    }
