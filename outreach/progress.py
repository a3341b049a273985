"""A live progress line for long steps: dbt nodes done of total, rows landed for loads.

On a terminal the line is redrawn in place (and erased before any other output goes
above it); elsewhere (a log file, a pipe, CI) it becomes a plain line at most every
``every_s`` seconds, plus the first and the last, so a log shows that work moves without
drowning in it. dbt's own structured log (``--log-format json``: one JSON object a line,
``LogStartLine`` / ``Log*Result`` / ``SkippingDetails`` events carry ``index`` and
``total``) feeds :class:`DbtProgress`; every event's ``msg`` is passed on as dbt's text
line, so dbt's output (and its errors) stay as they were.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

EVERY_S = 10.0  # not a terminal: a plain progress line at most this often
_ERASE = "\r\033[K"


class ProgressLine:
    """One status line on ``stream``: in place on a terminal, periodic plain lines otherwise."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        prefix: str = "",
        tty: bool | None = None,
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        self.prefix = prefix
        self.tty = self.stream.isatty() if tty is None else tty
        self.every_s = every_s
        self.clock = clock
        self.started = clock()
        self.text = ""
        self._shown = False  # terminal: the line is on screen now
        self._last_plain: float | None = None
        self.lock = threading.RLock()

    def elapsed(self) -> float:
        return self.clock() - self.started

    def update(self, text: str, *, force: bool = False) -> None:
        """Show ``text``; off a terminal only when forced or ``every_s`` has passed."""
        with self.lock:
            self.text = text
            if self.tty:
                self.stream.write(f"{_ERASE}{self.prefix}{text}")
                self._shown = True
            else:
                now = self.clock()
                last = self.started if self._last_plain is None else self._last_plain
                due = now - last >= self.every_s
                if not (force or due):
                    return
                self._last_plain = now
                self.stream.write(f"{self.prefix}{text}\n")
            self.stream.flush()

    def write_above(self, text: str, stream: TextIO) -> None:
        """Write a line of other output (dbt's), keeping the status line below it."""
        with self.lock:
            if self._shown:
                self.stream.write(_ERASE)
                self.stream.flush()
            stream.write(text if text.endswith("\n") else text + "\n")
            stream.flush()
            if self._shown:
                self.stream.write(f"{self.prefix}{self.text}")
                self.stream.flush()

    def close(self) -> None:
        """Erase the line on a terminal (the caller prints its own result line)."""
        with self.lock:
            if self._shown:
                self.stream.write(_ERASE)
                self.stream.flush()
                self._shown = False


def parse_dbt_line(line: str) -> dict[str, Any] | None:
    """One line of dbt's ``--log-format json`` output, or None if it is not one."""
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("info"), dict) else None


def dbt_text(event: dict[str, Any]) -> str:
    """The line dbt would have printed in its text format: ``HH:MM:SS  message``."""
    info = event["info"]
    ts = str(info.get("ts", ""))
    clock = ts[11:19] if len(ts) >= 19 else ""
    return f"{clock}  {info.get('msg', '')}" if clock else str(info.get("msg", ""))


class DbtProgress:
    """Nodes done of total and the node running longest, from dbt's structured events."""

    def __init__(self, line: ProgressLine) -> None:
        self.line = line
        line.started = line.clock()  # the time shown is dbt's own
        self.total = 0
        self.done = 0
        self.running: dict[str, str] = {}  # unique_id -> name, in start order

    def status(self) -> str:
        current = next(iter(self.running.values()), "")
        text = f"dbt {self.done}/{self.total}"
        if current:
            text += f" {current}"
        return f"{text} ({self.line.elapsed():.0f} s)"

    def feed(self, event: dict[str, Any]) -> None:
        data = event.get("data") or {}
        if "index" not in data:
            return
        name = event["info"].get("name")
        node = data.get("node_info") or {}
        key = node.get("unique_id") or f"#{data['index']}"
        self.total = max(self.total, int(data.get("total") or 0))
        if name == "LogStartLine":
            self.running[key] = node.get("node_name") or key.rsplit(".", 1)[-1]
            first = False
        else:  # a result: ok, error, skipped
            self.running.pop(key, None)
            self.done += 1
            first = self.done == 1
        last = self.total and self.done >= self.total
        self.line.update(self.status(), force=bool(first or last))

    def tick(self) -> None:
        """Refresh the elapsed time while a long node runs (no events arrive meanwhile)."""
        if self.total:
            self.line.update(self.status())
