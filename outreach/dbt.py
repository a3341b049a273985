"""Run dbt against the warehouse with the env-driven profile in ``profiles.yml``.

dbt runs as a child process in its own session. When we are told to stop (SIGTERM, SIGINT
or Ctrl-C), the child gets one SIGINT, on which dbt cancels its queries on the server
(dbt-postgres' ``cancel_open`` terminates their backends) and exits; if it has not exited
after ``STOP_GRACE_S`` it is killed. If we die without a word (SIGKILL), the kernel sends
dbt the same SIGINT (``PR_SET_PDEATHSIG``). And if dbt itself is killed, the server
notices the closed connection within ``client_connection_check_interval`` and cancels the
query; ``statement_timeout`` bounds every statement in any case (outreach.warehouse
``session_options``, passed to dbt as ``PGOPTIONS``).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from outreach.settings import DBT_PROJECT_DIR, PROJECT_ROOT
from outreach.warehouse import database_url, session_options, url_parts

STOP_GRACE_S = 30.0  # after the SIGINT, how long dbt may take to cancel and exit
_PR_SET_PDEATHSIG = 1


class DbtInterrupted(KeyboardInterrupt):
    """dbt was stopped because we were told to stop; its server queries were cancelled."""


def dbt_env(url: str | None = None) -> dict[str, str]:
    """Environment variables that profiles.yml reads (and PGOPTIONS, which libpq reads:
    the statement timeout and the client check of builds)."""
    parts = url_parts(url or database_url())
    options = " ".join(filter(None, [os.environ.get("PGOPTIONS", ""), session_options()]))
    return {
        "OUTREACH_PG_HOST": parts["host"],
        "OUTREACH_PG_PORT": parts["port"],
        "OUTREACH_PG_USER": parts["user"],
        "OUTREACH_PG_PASSWORD": parts["password"],
        "OUTREACH_PG_DBNAME": parts["dbname"],
        "PGOPTIONS": options,
        "DBT_PROFILES_DIR": str(PROJECT_ROOT),
        "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


BUILDING_COMMANDS = {"build", "run", "test", "seed", "snapshot", "source"}


def default_stop_signals() -> None:
    """In a child, before exec: SIGINT and SIGTERM at their defaults and unblocked.

    A child must hear SIGINT even when we were started with it ignored (e.g. `cmd &` in a
    script): an ignored disposition and a blocked mask survive exec, and Python only turns
    SIGINT into KeyboardInterrupt if it is not ignored. The same for SIGTERM: a dbt that
    ignores it outlives our death (the parent-death signal is SIGTERM in progress mode),
    and dagster dev stops its webserver, daemon and code server with SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _prepare_child(on_parent_death: int = signal.SIGINT) -> None:  # in the child, before exec
    default_stop_signals()
    if sys.platform == "linux":
        _signal_when_parent_dies(on_parent_death)


def _signal_when_parent_dies(signum: int) -> None:
    # not Linux: statement_timeout and the client check still bound the queries
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum)


def _run(cmd: list[str], env: dict[str, str], check: bool, capture: bool, progress=None):
    """subprocess.run, except that a stop request reaches dbt as one SIGINT (see above).

    With ``progress`` (an outreach.progress.ProgressLine), dbt logs JSON lines that we turn
    back into its text lines (printed, or captured) while the line shows nodes done of total.
    """
    pipe = subprocess.PIPE if capture else None
    if progress is not None:
        # a --log-format argument still wins; logs/dbt.log keeps its usual debug text
        env = {"DBT_LOG_FORMAT": "json", "DBT_LOG_FORMAT_FILE": "debug", **env}
    proc = subprocess.Popen(
        cmd,
        env=env,
        text=True,
        stdout=pipe if progress is None else subprocess.PIPE,
        stderr=pipe,
        start_new_session=True,  # Ctrl-C in a terminal reaches us; we forward it once
        # if we die: SIGINT lets dbt cancel its queries, but when its stdout is our pipe
        # (progress), its cancel path hits the broken pipe and then waits forever for the
        # worker still in the query; SIGTERM ends dbt at once, its connection closes, and
        # the server's client_connection_check_interval cancels the query within seconds
        preexec_fn=functools.partial(
            _prepare_child, signal.SIGINT if progress is None else signal.SIGTERM
        ),
    )
    stopped: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        if proc.poll() is not None:
            return
        if stopped:  # asked twice: no more waiting
            proc.kill()
            return
        stopped.append(signum)
        proc.send_signal(signal.SIGINT)
        timer = threading.Timer(STOP_GRACE_S, lambda: proc.poll() is None and proc.kill())
        timer.daemon = True
        timer.start()

    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            handlers[signum] = signal.signal(signum, stop)
    try:
        try:
            if progress is None:
                out, err = proc.communicate()
            else:
                out, err = _follow(proc, capture, progress)
        except BaseException:  # e.g. KeyboardInterrupt raised by an outer handler
            if proc.poll() is None:
                stop(signal.SIGINT, None)
            proc.wait()
            raise
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    if stopped:
        message = (
            f"dbt stopped on {signal.Signals(stopped[0]).name} (exit {proc.returncode}); "
            "it cancelled its queries on the server"
        )
        print(message, file=sys.stderr, flush=True)
        raise DbtInterrupted(message)
    done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if check:
        done.check_returncode()
    return done


def _follow(proc: subprocess.Popen, capture: bool, progress) -> tuple[str | None, str | None]:
    """Read dbt's JSON log lines as they come: text lines out (or kept), progress updated."""
    from outreach.progress import DbtProgress, dbt_text, parse_dbt_line

    nodes = DbtProgress(progress)
    err_parts: list[str] = []
    reader = None
    if capture:  # stderr drains beside us, so neither pipe fills up and blocks dbt
        reader = threading.Thread(target=lambda: err_parts.append(proc.stderr.read()), daemon=True)
        reader.start()
    finished = threading.Event()

    def tick() -> None:
        while not finished.wait(1.0):
            with progress.lock:
                nodes.tick()

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    out_lines: list[str] = []
    try:
        for raw in proc.stdout:
            event = parse_dbt_line(raw)
            text = dbt_text(event) if event else raw.rstrip("\n")
            if event:
                with progress.lock:
                    nodes.feed(event)
            if capture:
                out_lines.append(text + "\n")
            else:
                progress.write_above(text, sys.stdout)
        proc.wait()
    finally:
        finished.set()
        progress.close()
    if reader is not None:
        reader.join()
    return ("".join(out_lines) if capture else None), ("".join(err_parts) if capture else None)


def run_dbt(
    args: list[str],
    *,
    url: str | None = None,
    check: bool = True,
    capture: bool = False,
    progress=None,
    before_build: Callable[[str], object] | None = None,
    after_build: Callable[[str, list[str], float], object] | None = None,
    covered_sources: list[str] | None = None,
):
    """Run the dbt CLI in a subprocess (keeps dbt's globals out of our process).

    Commands that touch the warehouse are recorded as pipeline events (a failed one also as
    a pipeline error); ``before_build(url)`` runs before them (``app.dbt.run_dbt`` creates
    every owner's empty raw tables there) and ``after_build(url, args, started)`` after them,
    failed or not (``app.dbt.run_dbt`` reports to Dagster there). A stop request (SIGTERM,
    SIGINT) cancels dbt's queries and raises DbtInterrupted. ``progress`` (an
    outreach.progress.ProgressLine) shows nodes done of total while a building command runs.
    A successful build records the dbt sources it left current (``covered_sources``: given,
    or all for a build without a node selection; outreach/refresh.py reads them).
    """
    url = url or database_url()
    if BUILDING_COMMANDS & set(args[:1]) and before_build is not None:
        before_build(url)
    env = {**os.environ, **dbt_env(url)}
    dbt = Path(sys.executable).parent / "dbt"
    cmd = [str(dbt), *args] if dbt.exists() else [sys.executable, "-m", "dbt.cli.main", *args]
    if not BUILDING_COMMANDS & set(args[:1]):
        return _run(cmd, env, check, capture)
    from outreach.events import recording
    from outreach.refresh import covered_by_args

    payload: dict = {"runner": "cli", "args": args}
    covered = covered_sources if covered_sources is not None else covered_by_args(args)
    if covered is not None:
        payload["covered_sources"] = covered
    # every building command is a pipeline event (dbt.build, dbt.run, ...): outreach/events.py
    with recording(url, f"dbt.{args[0]}", payload) as event:
        started = time.time()
        try:
            done = _run(cmd, env, check, capture, progress)
        finally:
            if after_build is not None:
                after_build(url, list(args), started)
        event.update(returncode=done.returncode)
        if done.returncode != 0:
            event.fail(f"dbt {' '.join(args)} exited with {done.returncode}")
    return done
