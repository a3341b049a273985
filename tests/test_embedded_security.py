"""The embedded server is closed: password logins only, and its OS user is unprivileged.

Each test has its own state folder (its own server). The tests about other OS users need
root (as CI runs): they fork this process and drop to ``nobody`` (65534), so the client
libraries already loaded keep working wherever the checkout lives.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from outreach.embedded import HBA, SERVER_USER, EmbeddedPostgres, _bin_dir
from outreach.security import SERVER_ACCESS_ROLES, SecurityError, create_login

NOBODY = 65534
pytestmark = [
    pytest.mark.embedded_only,
    pytest.mark.skipif(sys.platform != "linux", reason="embedded server tests run on Linux"),
]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="switches OS users: needs root")

OLD_HBA = """local all all trust
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
local replication all trust
host replication all 127.0.0.1/32 trust
"""


@pytest.fixture
def server(tmp_path):
    srv = EmbeddedPostgres(tmp_path / "state")
    yield srv
    srv.stop()


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"postgres@{parts.hostname}:{parts.port}").geturl()


def _as_nobody(fn: Callable[[], dict]) -> dict:
    """Run ``fn`` in a forked child that became OS user nobody; its JSON-able result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = fn()
        except BaseException as exc:  # report everything to the parent
            result, code = {"crashed": f"{type(exc).__name__}: {exc}"}, 1
        with os.fdopen(write, "w") as fh:
            fh.write(json.dumps(result))
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as fh:
        text = fh.read()
    os.waitpid(pid, 0)
    result = json.loads(text)
    assert "crashed" not in result, result["crashed"]
    return result


def _error(fn: Callable[[], object]) -> str | None:
    """The error text ``fn`` raised (psycopg or OS), None if it succeeded."""
    try:
        fn()
    except (psycopg.Error, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def test_pg_hba_has_no_trust_line_and_the_password_file_is_0600(server):
    url = server.start()
    hba = (server.pgdata / "pg_hba.conf").read_text()
    assert hba == HBA
    rules = [line for line in hba.splitlines() if line and not line.startswith("#")]
    assert rules and all(line.split()[-1] == "scram-sha-256" for line in rules)
    assert not any("trust" in line or "replication" in line for line in rules)
    assert server.password_path.stat().st_mode & 0o777 == 0o600
    assert urlsplit(url).password == server.password()
    with psycopg.connect(url) as conn:
        assert conn.execute("show password_encryption").fetchone()[0] == "scram-sha-256"
        stored = conn.execute(
            "select rolpassword from pg_authid where rolname = 'postgres'"
        ).fetchone()[0]
    assert stored.startswith("SCRAM-SHA-256$") and server.password() not in stored


def test_a_login_without_the_password_or_with_a_wrong_one_is_refused(server):
    url = server.start()
    bare = _without_password(url)
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(bare, connect_timeout=5)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(bare, password="not-the-password", connect_timeout=5)
    psycopg.connect(url, connect_timeout=5).close()


@needs_root
def test_the_server_runs_as_an_unprivileged_os_user_not_as_root(server):
    server.start()
    pid = server.status().pid
    status = Path(f"/proc/{pid}/status").read_text()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    gids = next(line for line in status.splitlines() if line.startswith("Gid:")).split()[1:]
    expected = pwd.getpwnam(SERVER_USER)
    assert {int(u) for u in uids} == {expected.pw_uid} and expected.pw_uid != 0
    assert {int(g) for g in gids} == {expected.pw_gid} and expected.pw_gid != 0
    # the host's own uid map: not root mapped into a user namespace
    assert Path(f"/proc/{pid}/uid_map").read_text().split() == ["0", "0", "4294967295"]
    assert server.pgdata.stat().st_uid == expected.pw_uid
    assert server.pgdata.stat().st_mode & 0o777 == 0o700


@needs_root
def test_nobody_cannot_log_in_without_the_password_nor_read_root_files_through_the_server(
    server, request
):
    url = server.start()
    # in a folder everyone can enter, so only the file's own mode 0600 protects it
    shared = Path(tempfile.mkdtemp(prefix="outreach-embedsec-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    os.chmod(shared, 0o1777)  # COPY TO lands here too
    secret = shared / "rootonly.txt"
    secret.write_text("root's secret\n")
    os.chmod(secret, 0o600)
    drop_dir = shared
    password_path = str(server.password_path)

    def attempt() -> dict:
        bare = _without_password(url)
        out = {
            "uid": os.getuid(),
            "no_password": _error(lambda: psycopg.connect(bare, connect_timeout=5).close()),
            "guessed": _error(
                lambda: psycopg.connect(bare, password="postgres", connect_timeout=5).close()
            ),
            "password_file": _error(lambda: Path(password_path).read_text()),
        }
        # even with the password (say it leaked), the server's files are not root's
        with psycopg.connect(url, autocommit=True) as conn:
            out["read_file"] = _error(
                lambda: conn.execute("select pg_read_file(%s)", (str(secret),)).fetchone()
            )
            conn.execute("create temp table ran (line text)")
            conn.execute("copy ran from program 'id -u'")
            out["program_uid"] = conn.execute("select line from ran").fetchone()[0]
            conn.execute(f"copy (select 1) to '{drop_dir}/written.txt'")
        return out

    seen = _as_nobody(attempt)
    assert seen["uid"] == NOBODY
    assert seen["no_password"] and "password" in seen["no_password"]
    assert seen["guessed"] and "password authentication failed" in seen["guessed"]
    assert seen["password_file"] and "Permission denied" in seen["password_file"]
    assert seen["read_file"] and "Permission denied" in seen["read_file"], seen["read_file"]
    assert "root's secret" not in json.dumps(seen)
    server_uid = pwd.getpwnam(SERVER_USER).pw_uid
    assert int(seen["program_uid"]) == server_uid != 0
    assert (drop_dir / "written.txt").stat().st_uid == server_uid


def _make_it_old(server: EmbeddedPostgres) -> None:
    """Turn a stopped data folder into what an older version left: trust logins, no
    password file, files owned by the invoking user."""
    (server.pgdata / "pg_hba.conf").write_text(OLD_HBA)
    server.password_path.unlink()
    if os.geteuid() == 0:
        for root, dirs, files in os.walk(server.pgdata):
            for name in [*dirs, *files]:
                os.lchown(os.path.join(root, name), 0, 0)
        os.chown(server.pgdata, 0, 0)


def _assert_closed_and_kept(server: EmbeddedPostgres, url: str) -> None:
    assert (server.pgdata / "pg_hba.conf").read_text() == HBA
    assert server.password_path.stat().st_mode & 0o777 == 0o600
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(_without_password(url), connect_timeout=5)
    with psycopg.connect(url) as conn:
        assert conn.execute("select x from kept").fetchone() == (7,)
    if os.geteuid() == 0:
        pid = server.status().pid
        assert os.stat(f"/proc/{pid}").st_uid == pwd.getpwnam(SERVER_USER).pw_uid


def test_a_stopped_trust_data_folder_of_an_older_version_is_closed_on_the_next_start(server):
    url = server.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table kept (x int)")
        conn.execute("insert into kept values (7)")
    server.stop()
    _make_it_old(server)

    new_url = EmbeddedPostgres(server.state_dir).start()
    assert new_url != url  # a new password
    _assert_closed_and_kept(server, new_url)


@needs_root
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare")
def test_a_running_trust_server_of_an_older_version_is_stopped_closed_and_restarted(server):
    url = server.start()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table kept (x int)")
        conn.execute("insert into kept values (7)")
    server.stop()
    _make_it_old(server)
    port = urlsplit(url).port
    # started the way older versions did: root mapped to uid 1000 in a user namespace
    subprocess.run(
        [
            "unshare",
            "--user",
            "--map-user=1000",
            "--map-group=1000",
            "--",
            str(_bin_dir() / "pg_ctl"),
            "-D",
            str(server.pgdata),
            "-l",
            str(server.log_path),
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories=''",
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    old_pid = server.status().pid
    assert os.stat(f"/proc/{old_pid}").st_uid == 0  # the hole the issue found
    psycopg.connect(_without_password(url), connect_timeout=5).close()  # trust

    new_url = EmbeddedPostgres(server.state_dir).start()
    assert server.status().pid != old_pid
    _assert_closed_and_kept(server, new_url)


def test_a_bi_login_is_kept_out_of_the_server_file_and_program_roles(server):
    url = server.start()
    name = "bi_embedded_test"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"create role {name} login")
        for builtin in SERVER_ACCESS_ROLES:
            conn.execute(f"grant {builtin} to {name}")
        create_login(conn, name, password_env=None)
        for builtin in SERVER_ACCESS_ROLES:
            assert not conn.execute(
                "select pg_has_role(%s, %s, 'member')", (name, builtin)
            ).fetchone()[0]
        # reached through another role: refused, not silently kept
        conn.execute("create role file_readers nologin")
        conn.execute("grant pg_read_server_files to file_readers")
        conn.execute(f"grant file_readers to {name}")
        with pytest.raises(SecurityError, match="pg_read_server_files through another role"):
            create_login(conn, name, password_env=None)
        conn.execute(f"alter role {name} superuser")
        with pytest.raises(SecurityError, match="superuser"):
            create_login(conn, name, password_env=None)


# ------------------------------------------------------------- issue 15 item 8: wrong password
OUTREACH = str(Path(sys.executable).parent / "outreach")
WRONG = "Wr0ng-pa55word-never-printed"


def _cli(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    dataset = tmp_path / "people.csv"
    dataset.write_text("full_name,email\nAda Lovelace,ada@example.com\n")
    return subprocess.run(
        [OUTREACH, *[str(dataset) if a == "FILE" else a for a in args]],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["load", "intake", "--people", "FILE"],
        ["gdpr", "export", "--email", "someone@example.com"],
        ["ops", "errors"],
    ],
    ids=["load-intake", "gdpr-export", "ops-errors"],
)
def test_a_wrong_password_is_one_line_exit_5_and_never_printed(server, args, tmp_path):
    url = urlsplit(server.start())
    wrong = url._replace(netloc=f"postgres:{WRONG}@127.0.0.1:{url.port}").geturl()
    env = {**os.environ, "OUTREACH_DATABASE_URL": wrong, "OUTREACH_STATE_DIR": str(tmp_path)}
    result = _cli(args, env, tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 5, result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        f"error: the warehouse at postgresql://postgres@127.0.0.1:{url.port}/outreach "
        "refused the login ("
    ), lines[0]
    assert "password authentication failed" in lines[0]
    assert lines[0].endswith("check the password in OUTREACH_DATABASE_URL")
    assert "Traceback" not in result.stderr + result.stdout
    assert WRONG not in result.stderr + result.stdout
    assert server.password() not in result.stderr + result.stdout


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_a_stale_embedded_password_file_is_one_line_with_a_hint(server, tmp_path, running):
    server.start()
    if not running:
        server.stop()  # the command starts it, then cannot log in
    real = server.password()
    server.password_path.write_text(WRONG + "\n")  # someone edited it
    try:
        env = {k: v for k, v in os.environ.items() if k != "OUTREACH_DATABASE_URL"}
        env["OUTREACH_STATE_DIR"] = str(server.state_dir)
        result = _cli(["ops", "errors"], env, tmp_path)
    finally:
        server.password_path.write_text(real + "\n")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 5 and len(lines) == 1, result.stderr
    assert lines[0].startswith("error: the warehouse at the embedded server refused the login")
    assert "server.password" in lines[0] and WRONG not in result.stderr + result.stdout
