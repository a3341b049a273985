"""The README's commands work as written: every code block marked ``<!-- test: run -->``
runs, as a bash script from the project root against a fresh database, and exits 0."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from outreach.settings import PROJECT_ROOT

MARKER = "<!-- test: run -->"
BLOCK = re.compile(rf"^{re.escape(MARKER)}\n```(bash|sh|python)\n(.*?)^```$", re.M | re.S)


def runnable_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of each block right after the marker."""
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(text)]


BLOCKS = runnable_blocks((PROJECT_ROOT / "README.md").read_text())


def test_the_readme_marks_the_everyday_commands_as_runnable():
    code = "\n".join(block for _, block in BLOCKS)
    for command in ["outreach --help", "outreach db url", "outreach env", "dbt --version"]:
        assert command in code
    assert re.search(r"outreach dbt build -s \S+", code)
    assert "outreach ops errors" in code
    # a marker not directly followed by a code block would silently test nothing
    lines = (PROJECT_ROOT / "README.md").read_text().splitlines()
    assert lines.count(MARKER) == len(BLOCKS)


@pytest.mark.parametrize(("language", "code"), BLOCKS, ids=lambda v: v.split("\n")[0][:40])
def test_a_marked_readme_block_runs_as_written(language, code, fresh_warehouse, tmp_path):
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(
        d for d in os.environ.get("PATH", "").split(os.pathsep) if d and d != venv_bin
    )
    env = {
        **os.environ,
        "PATH": path,  # as in a fresh shell: the venv is not activated
        "OUTREACH_DATABASE_URL": fresh_warehouse,
        "OUTREACH_STATE_DIR": str(tmp_path / "state"),
    }
    cmd = (
        ["bash", "-e", "-o", "pipefail", "-c", code]
        if language in ("bash", "sh")
        else [sys.executable, "-c", code]
    )
    done = subprocess.run(
        cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{code}\n---\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
