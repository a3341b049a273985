"""The dlt pipelines the loaders land raw data with: one working dir per warehouse database.

A pipeline's state (schemas, pending load packages) lives under
``.outreach/dlt/<dbname>-<hash of user@host:port/dbname>/``, so two warehouses never share
state and an interrupted load's packages are found and finished by the next run.

A load holds ``load_lock`` (a file lock next to its pipeline's working folder) from start
to end, so two loads of the same source into the same database never share the folder at
once: the second waits for the first (``OUTREACH_LOAD_LOCK_TIMEOUT_S``, default 600 s; 0
means do not wait) and then raises ``LoadBusyError`` naming the holder's pid. Loads of
different sources take different locks and run in parallel.

No copies of loaded rows stay behind: every pipeline deletes its completed load files
(``load.delete_completed_jobs``) and truncates the staging dataset it merges through
(``load.truncate_staging_dataset``), and when a load lets go of its lock the pipeline's
completed packages (``load/loaded/<load id>/``: schema copies, and the load files of any
run that kept them) are removed. Pending packages of an interrupted load stay for the next
run, which drops or finishes them. ``outreach gdpr erase`` scans what is left
(``outreach.gdpr.erase_state_files``).

dlt's settings (telemetry off, the per-pipeline writer and normalizer options) live once in
``.dlt/config.toml`` at the project root. dlt reads ``./.dlt/`` of the working directory, so
the factory points dlt's run context at the project root before it builds a pipeline
(``use_project_settings``): the CLI, Dagster and tests read the same file from any directory.
Nothing here changes dlt, the environment or logging at import time.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from outreach.settings import PROJECT_ROOT, load_settings
from outreach.warehouse import session_options, url_parts


def dlt_credentials(url: str) -> Any:
    """dlt PostgresCredentials for ``url``; an empty password for a server with trust (or
    peer/cert) auth, which dlt otherwise refuses. Loads run with the statement timeout and
    client check of ``outreach.warehouse.session_options``."""
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    credentials = PostgresCredentials(url)
    if credentials.password is None:
        credentials.password = ""
    query = dict(credentials.query or {})
    query["options"] = " ".join(filter(None, [query.get("options", ""), session_options()]))
    credentials.query = query
    return credentials


def pipelines_dir_for(database_url: str) -> Path:
    """The dlt working dir for this warehouse database."""
    parts = url_parts(database_url)
    key = hashlib.sha256(
        f"{parts['user']}@{parts['host']}:{parts['port']}/{parts['dbname']}".encode()
    ).hexdigest()[:12]
    return load_settings().state_dir / "dlt" / f"{parts['dbname']}-{key}"


DEFAULT_LOCK_TIMEOUT_S = 600.0
LOCK_POLL_S = 0.2


class LoadBusyError(RuntimeError):
    """Another load of the same pipeline into the same database held the lock too long."""


# locks this process holds: path -> [open file, depth]; the RLock makes nesting in one
# thread free and makes another thread of this process wait like another process would
_held: dict[str, list[Any]] = {}
_thread_locks: dict[str, threading.RLock] = {}
_registry = threading.Lock()


def lock_timeout_s() -> float:
    raw = os.environ.get("OUTREACH_LOAD_LOCK_TIMEOUT_S", "").strip()
    if not raw:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise ValueError(
            f"OUTREACH_LOAD_LOCK_TIMEOUT_S={raw!r} is not a number of seconds"
        ) from None


def _holder(path: Path) -> str:
    try:
        return path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def prune_loaded_packages(pipelines_dir: Path, pipeline_name: str) -> int:
    """Remove the completed load packages of a pipeline's working folder; returns how many.
    Pending packages (``load/normalized``, ``normalize/extracted``) are left alone."""
    loaded = Path(pipelines_dir) / pipeline_name / "load" / "loaded"
    removed = 0
    if loaded.is_dir():
        for package in loaded.iterdir():
            if package.is_dir():
                shutil.rmtree(package, ignore_errors=True)
                removed += 1
    return removed


@contextmanager
def load_lock(
    database_url: str,
    pipeline_name: str,
    pipelines_dir: Path | None = None,
    *,
    timeout_s: float | None = None,
    progress: Callable[[str], Any] | None = None,
) -> Iterator[Path]:
    """Hold the lock of ``pipeline_name``'s working folder for this database; re-entrant
    within a thread. Waits up to ``timeout_s`` (default ``lock_timeout_s()``) for another
    load, telling ``progress`` once, then raises LoadBusyError. Yields the lock file."""
    folder = Path(pipelines_dir or pipelines_dir_for(database_url))
    path = folder / f"{pipeline_name}.lock"
    key = str(path)
    with _registry:
        thread_lock = _thread_locks.setdefault(key, threading.RLock())
    timeout = lock_timeout_s() if timeout_s is None else timeout_s
    deadline = time.monotonic() + timeout
    told = False
    if not thread_lock.acquire(blocking=False):  # another thread of this process loads
        if progress is not None:
            progress(f"waiting for another load of {pipeline_name} in this process to end…")
            told = True
        if timeout <= 0 or not thread_lock.acquire(timeout=timeout):
            raise LoadBusyError(
                f"another load of {pipeline_name} is running (pid {os.getpid()}); "
                "try again when it ends"
            )
    try:
        if key in _held:  # nested in this thread
            _held[key][1] += 1
            try:
                yield path
            finally:
                _held[key][1] -= 1
            return
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+")  # noqa: SIM115 - kept open while the lock is held
        try:
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = _holder(path)
                    if time.monotonic() >= deadline:
                        raise LoadBusyError(
                            f"another load of {pipeline_name} is running (pid {holder}); "
                            "try again when it ends"
                        ) from None
                    if progress is not None and not told:
                        progress(
                            f"waiting for another load of {pipeline_name} (pid {holder}) "
                            f"to end (up to {timeout:g} s)…"
                        )
                        told = True
                    time.sleep(LOCK_POLL_S)
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            _held[key] = [handle, 1]
            try:
                yield path
            finally:
                del _held[key]
                prune_loaded_packages(folder, pipeline_name)
                handle.seek(0)
                handle.truncate()
                handle.flush()
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            handle.close()
    finally:
        thread_lock.release()


def use_project_settings() -> None:
    """Make dlt read the project's ``.dlt/`` (``PROJECT_ROOT``), whatever the working
    directory. dlt builds its run context (config providers, its logger, telemetry) once, on
    first use: if that happened elsewhere, the context is reloaded here, and telemetry a
    default context started is stopped when the project's settings say off. Idempotent.
    ``DLT_PROJECT_DIR``, when set, still wins: then nothing is changed here."""
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext
    from dlt.common.runtime import telemetry
    from dlt.common.runtime.run_context import RunContext

    if os.environ.get("DLT_PROJECT_DIR"):
        return  # the user pointed dlt at a project dir of their own
    container = Container()
    if PluggableRunContext not in container:
        container[PluggableRunContext] = PluggableRunContext(RunContext(str(PROJECT_ROOT)))
        return
    plugged = container[PluggableRunContext]
    if Path(plugged.context.run_dir).resolve() == PROJECT_ROOT:
        return
    plugged.reload(str(PROJECT_ROOT))
    if telemetry.is_telemetry_started() and not plugged.context.runtime_config.dlthub_telemetry:
        telemetry.stop_telemetry()


class JsonTextHints(logging.Filter):
    """Drops dlt's "several column hints were different" warning for ``resources``: their
    JSON columns travel as text in arrow and are hinted json on purpose, so dlt's warning on
    every load would only be noise. Equal filters are equal, so adding one twice is a no-op."""

    def __init__(self, resources: Collection[str]) -> None:
        super().__init__()
        self.resources = frozenset(resources)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonTextHints) and other.resources == self.resources

    def __hash__(self) -> int:
        return hash(self.resources)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "several column hints were different" in message
            and any(f"resource: {name}," in message for name in self.resources)
        )


def warehouse_pipeline(
    database_url: str,
    pipeline_name: str,
    dataset_name: str,
    pipelines_dir: Path | None = None,
    *,
    json_text_resources: Collection[str] = (),
) -> Any:
    """A dlt pipeline landing into ``dataset_name`` (a raw schema) of this database, with the
    settings of ``.dlt/config.toml`` (it keeps no copies of loaded rows: completed load files
    deleted, staging truncated). ``json_text_resources``: resources whose JSON columns travel
    as text on purpose (``JsonTextHints``)."""
    import dlt

    use_project_settings()
    if json_text_resources:
        logging.getLogger("dlt").addFilter(JsonTextHints(json_text_resources))
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=dlt.destinations.postgres(credentials=dlt_credentials(database_url)),
        dataset_name=dataset_name,
        pipelines_dir=str(pipelines_dir or pipelines_dir_for(database_url)),
    )


def definitions_pipeline(pipeline_name: str, dataset_name: str) -> Any:
    """A pipeline that is never run (no credentials), for definitions that read a pipeline's
    shape (dagster-dlt's asset specs); the same project settings as ``warehouse_pipeline``."""
    import dlt

    use_project_settings()
    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination="postgres",
        dataset_name=dataset_name,
        pipelines_dir=str(load_settings().state_dir / "dlt" / "_definitions"),
    )
