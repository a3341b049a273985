"""A live progress line for dbt: nodes done of total with the node running, dbt's own
output (summary and errors) intact. Through the real CLI against a real warehouse."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from outreach.progress import DbtProgress, ProgressLine

OUTREACH = str(Path(sys.executable).parent / "outreach")
PROGRESS = re.compile(r"^dbt (\d+)/(\d+)( \S+)? \(\d+ s\)$")


def cli_dbt(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [OUTREACH, "dbt", *args],
        capture_output=True,  # not a terminal: plain progress lines
        text=True,
        timeout=600,
        env={**os.environ, "OUTREACH_DATABASE_URL": url},
    )


def test_dbt_build_prints_nodes_done_of_total_and_keeps_dbts_summary(fresh_warehouse):
    done = cli_dbt(fresh_warehouse, "build", "-s", "stg_ops__pipeline_events")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = [m for m in map(PROGRESS.match, done.stderr.splitlines()) if m]
    assert lines, done.stderr
    total = int(lines[-1].group(2))
    assert total > 1 and int(lines[-1].group(1)) == total  # the last line: all done
    assert int(lines[0].group(1)) <= 1  # and one from the start
    # dbt's text output as it would print it, not its JSON
    assert not [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert re.search(
        rf"1 of {total} START sql view model staging\.stg_ops__pipeline_events", done.stdout
    )
    assert f"Done. PASS={total} WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL={total}" in done.stdout


def test_a_failing_dbt_build_still_shows_dbts_error(fresh_warehouse):
    # kpi_definitions' relationship test reads a mart this selection does not build
    done = cli_dbt(fresh_warehouse, "build", "-s", "kpi_definitions")
    assert done.returncode == 1
    assert 'relation "marketing.kpi_current_values" does not exist' in done.stdout
    assert re.search(r"Done\. PASS=\d+ WARN=0 ERROR=1 ", done.stdout)


def _event(name: str, index: int, total: int, node: str) -> dict:
    return {
        "info": {"name": name, "msg": "", "ts": ""},
        "data": {
            "index": index,
            "total": total,
            "node_info": {"unique_id": f"model.p.{node}", "node_name": node},
        },
    }


def test_off_a_terminal_progress_is_a_plain_line_at_most_every_interval():
    now = [0.0]
    out = io.StringIO()
    line = ProgressLine(out, tty=False, every_s=10, clock=lambda: now[0])
    nodes = DbtProgress(line)
    for i, (name, t) in enumerate([("a", 1), ("b", 2), ("c", 15), ("d", 16)], start=1):
        now[0] = t
        nodes.feed(_event("LogStartLine", i, 4, name))
        nodes.feed(_event("LogModelResult", i, 4, name))
    assert out.getvalue().splitlines() == [
        "dbt 1/4 (1 s)",  # the first result
        "dbt 2/4 c (15 s)",  # 10 s later, as c starts
        "dbt 4/4 (16 s)",  # the last
    ]


def test_on_a_terminal_the_line_is_redrawn_in_place_below_dbts_lines():
    out, dbt_out = io.StringIO(), io.StringIO()
    line = ProgressLine(out, tty=True, clock=lambda: 5.0)
    nodes = DbtProgress(line)
    nodes.feed(_event("LogStartLine", 1, 2, "int_person_keys"))
    line.write_above("12:00:00  1 of 2 START ...", dbt_out)
    line.close()
    assert out.getvalue() == (
        "\r\033[Kdbt 0/2 int_person_keys (0 s)"
        "\r\033[K"  # erased before dbt's line, then drawn again
        "dbt 0/2 int_person_keys (0 s)"
        "\r\033[K"
    )
    assert dbt_out.getvalue() == "12:00:00  1 of 2 START ...\n"
