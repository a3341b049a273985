"""Lifecycle of the embedded PostgreSQL: start, reuse, stop, crash recovery, concurrent start.

Every test uses its own state folder, so its server is separate from the one the rest of the
suite (and the user) works with.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from outreach.embedded import EmbeddedPostgres
from outreach.warehouse import mask_url_password

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="embedded server tests run on Linux"
)

ROOT = Path(__file__).resolve().parents[1]
OUTREACH = str(Path(sys.executable).parent / "outreach")


@pytest.fixture
def server(tmp_path):
    srv = EmbeddedPostgres(tmp_path / "state")
    yield srv
    srv.stop()


def _server_version(url: str) -> str:
    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute("show server_version").fetchone()[0]


def _cli_env(state_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OUTREACH_DATABASE_URL"}
    env["OUTREACH_STATE_DIR"] = str(state_dir)
    return env


def test_start_listens_on_loopback_tcp_at_a_port_other_than_5432(server):
    url = server.start()
    assert url.startswith("postgresql://postgres:")  # the generated password is in it
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1" and parts.password == server.password()
    port = parts.port
    assert port != 5432
    assert _server_version(url).startswith("18")
    st = server.status()
    assert st.running and st.port == port and st.initialized


def test_second_start_reuses_the_running_server(server):
    url1 = server.start()
    pid1 = server.status().pid
    url2 = EmbeddedPostgres(server.state_dir).start()  # as a second command would
    assert url2 == url1
    assert server.status().pid == pid1


def test_stop_then_start_keeps_data_and_port(server):
    url = server.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table kept (x int)")
        conn.execute("insert into kept values (7)")
    assert server.stop() is True
    assert server.status().running is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
    assert server.stop() is False  # stopping a stopped server is harmless
    assert server.start() == url
    with psycopg.connect(url) as conn:
        assert conn.execute("select x from kept").fetchone() == (7,)


def test_start_recovers_after_the_server_was_killed(server):
    url = server.start()
    pid = server.status().pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while server.status().running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (server.pgdata / "postmaster.pid").exists()  # the crash left its pid file behind
    assert server.start() == url
    assert server.status().pid != pid
    assert _server_version(url)


def test_stale_pid_file_naming_a_reused_pid_is_ignored(server):
    url = server.start()
    server.stop()
    # Simulate a crash whose pid has since been reused by an unrelated process.
    other = subprocess.Popen(["sleep", "30"])
    try:
        pidfile = server.pgdata / "postmaster.pid"
        pidfile.write_text(
            f"{other.pid}\n{server.pgdata}\n0\n{server.status().port}\n\n127.0.0.1\n"
        )
        assert server.status().running is False
        assert server.start() == url
        assert _server_version(url)
    finally:
        other.kill()
        other.wait()


def test_a_remembered_port_5432_is_never_used(server):
    server.start()
    server.stop()
    server.info_path.write_text(json.dumps({"port": 5432}))
    url = server.start()
    assert ":5432/" not in url
    assert _server_version(url)


def test_concurrent_starts_give_one_server(tmp_path):
    state = tmp_path / "state"
    code = (
        "import sys; from outreach.embedded import EmbeddedPostgres; "
        "print(EmbeddedPostgres(sys.argv[1]).start())"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(state)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    try:
        urls = {p.communicate(timeout=180)[0].strip() for p in procs}
        assert all(p.returncode == 0 for p in procs)
        assert len(urls) == 1
        srv = EmbeddedPostgres(state)
        st = srv.status()
        assert st.running
        # exactly one postmaster for this data folder
        postmasters = [
            pid
            for pid in os.listdir("/proc")
            if pid.isdigit() and _is_postmaster_of(int(pid), srv.pgdata)
        ]
        assert len(postmasters) == 1
    finally:
        EmbeddedPostgres(state).stop()


def _is_postmaster_of(pid: int, pgdata: Path) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    ppid = int(next(line for line in status.splitlines() if line.startswith("PPid:")).split()[1])
    is_postgres = bool(cmd) and cmd[0].endswith(b"postgres")
    # the postmaster works in its data folder (the same inode when it sees it bind-mounted)
    try:
        cwd, data = os.stat(f"/proc/{pid}/cwd"), os.stat(pgdata)
    except OSError:
        return False
    in_pgdata = (cwd.st_dev, cwd.st_ino) == (data.st_dev, data.st_ino)
    parent_is_postgres = Path(f"/proc/{ppid}/cmdline").exists() and Path(
        f"/proc/{ppid}/cmdline"
    ).read_bytes().split(b"\0")[0].endswith(b"postgres")
    return is_postgres and in_pgdata and not parent_is_postgres


def test_db_commands_start_report_and_stop_the_server(tmp_path):
    env = _cli_env(tmp_path / "cli-state")
    out = subprocess.run(
        [OUTREACH, "db", "start"], env=env, capture_output=True, text=True, check=True
    )
    assert "embedded PostgreSQL running" in out.stdout
    url = subprocess.run(
        [OUTREACH, "db", "url"], env=env, capture_output=True, text=True, check=True
    )
    url = url.stdout.strip()
    assert urlsplit(url).password == EmbeddedPostgres(tmp_path / "cli-state").password()
    assert url.startswith("postgresql://postgres:") and "@127.0.0.1:" in url
    status = json.loads(
        subprocess.run(
            [OUTREACH, "db", "status"], env=env, capture_output=True, text=True, check=True
        ).stdout
    )
    assert status["running"] is True and status["url"] == mask_url_password(url)
    psql = subprocess.run(
        [OUTREACH, "db", "psql", "-tAc", "select 40 + 2"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert psql.stdout.strip() == "42"
    stop = subprocess.run(
        [OUTREACH, "db", "stop"], env=env, capture_output=True, text=True, check=True
    )
    assert stop.stdout.strip() == "stopped"
    down = subprocess.run([OUTREACH, "db", "status"], env=env, capture_output=True, text=True)
    assert down.returncode == 3 and json.loads(down.stdout)["running"] is False


def test_outreach_env_prints_exports_for_plain_dbt(tmp_path):
    env = _cli_env(tmp_path / "env-state")
    try:
        out = subprocess.run(
            [OUTREACH, "env"], env=env, capture_output=True, text=True, check=True
        ).stdout
        lines = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines())
        assert lines["OUTREACH_PG_HOST"] == "127.0.0.1"
        assert lines["OUTREACH_PG_DBNAME"] == "outreach"
        assert int(lines["OUTREACH_PG_PORT"]) != 5432
        assert lines["OUTREACH_DATABASE_URL"].startswith("postgresql://")
        assert lines["DBT_PROFILES_DIR"] == str(ROOT)
    finally:
        EmbeddedPostgres(tmp_path / "env-state").stop()
