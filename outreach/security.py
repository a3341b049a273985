"""The read-only role: ``outreach_reader`` may SELECT the published schemas and nothing else.

``grant_reader_role`` sets up the NOLOGIN group role ``outreach_reader``:

* USAGE on the published schemas (company, people, marketing, bit) and SELECT on every
  table and view in them now;
* ``ALTER DEFAULT PRIVILEGES`` for the role that builds the marts (the warehouse user), so
  the tables and views dbt re-creates on every build are readable again right away;
* no CREATE on the database or on ``public``, no TEMPORARY (both revoked from PUBLIC; the
  warehouse user keeps TEMPORARY explicitly, dbt's incremental models need it), no USAGE on
  raw_*, staging, intermediate, keymap or reference.

``create_login`` adds a LOGIN role that is a member of ``outreach_reader`` and of nothing
that reaches the server's files or programs: it refuses a role with superuser, createrole,
createdb, replication or bypassrls rights, revokes direct membership in
pg_read_server_files, pg_write_server_files and pg_execute_server_program, and refuses a role
that still inherits one of them. Its password
comes from an environment variable and is sent to the server as a SCRAM-SHA-256 verifier
computed here, so the plain password never appears in a statement, a server log or output.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets

import psycopg
from psycopg import sql

READER_ROLE = "outreach_reader"
# built-in roles that reach the server's files and programs: never for a BI login
SERVER_ACCESS_ROLES = ("pg_read_server_files", "pg_write_server_files", "pg_execute_server_program")
PUBLISHED_SCHEMAS = ("company", "people", "marketing", "bit")
SCRAM_ITERATIONS = 4096
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class SecurityError(RuntimeError):
    """A role could not be set up (bad name, missing password, missing privileges)."""


def scram_sha256_verifier(password: str, *, salt: bytes | None = None) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677).

    ``ALTER ROLE ... PASSWORD '<verifier>'`` stores it as is, so the server never sees the
    plain password. (SASLprep is skipped: identical for printable ASCII passwords.)
    """
    salt = salt if salt is not None else secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _role_exists(conn: psycopg.Connection, name: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (name,)).fetchone() is not None


def grant_reader_role(conn: psycopg.Connection) -> list[str]:
    """Create/refresh ``outreach_reader`` in the connected database; returns what it did.

    Idempotent. Runs as the warehouse user (the one dbt builds with): default privileges
    are set for that role, so objects it creates later are readable too.
    """
    done: list[str] = []
    with conn.transaction():
        # roles are cluster-wide: serialise concurrent set-ups on one server
        conn.execute("select pg_advisory_xact_lock(hashtext('outreach reader role'))")
        if not _role_exists(conn, READER_ROLE):
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(READER_ROLE)))
            done.append(f"created role {READER_ROLE} (NOLOGIN)")
        reader = sql.Identifier(READER_ROLE)
        db = sql.Identifier(conn.info.dbname)
        me = sql.Identifier(conn.execute("select current_user").fetchone()[0])
        conn.execute(sql.SQL("grant temporary on database {} to {}").format(db, me))
        conn.execute(sql.SQL("revoke create, temporary on database {} from public").format(db))
        conn.execute(sql.SQL("revoke create on schema public from public"))
        conn.execute(sql.SQL("grant connect on database {} to {}").format(db, reader))
        for schema in PUBLISHED_SCHEMAS:
            s = sql.Identifier(schema)
            conn.execute(sql.SQL("create schema if not exists {}").format(s))
            conn.execute(sql.SQL("grant usage on schema {} to {}").format(s, reader))
            conn.execute(sql.SQL("revoke create on schema {} from {}").format(s, reader))
            conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(s, reader))
            conn.execute(
                sql.SQL(
                    "alter default privileges for role {} in schema {} grant select on tables to {}"
                ).format(me, s, reader)
            )
        done.append(
            f"{READER_ROLE}: USAGE + SELECT on {', '.join(PUBLISHED_SCHEMAS)} "
            f"(now and for tables/views created later), nothing else"
        )
    return done


def create_login(conn: psycopg.Connection, name: str, *, password_env: str | None) -> list[str]:
    """A LOGIN role ``name``, member of ``outreach_reader`` (set up first).

    The password is read from the environment variable ``password_env`` (never an
    argument); without one the role gets no password (fine for trust/peer/cert auth).
    """
    if not _ROLE_NAME.match(name):
        raise SecurityError(
            f"role name {name!r} is not allowed; expected lowercase letters, digits and _ "
            "(starting with a letter or _), at most 63 characters"
        )
    if name == READER_ROLE or name in PUBLISHED_SCHEMAS:
        raise SecurityError(f"role name {name!r} is reserved")
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise SecurityError(f"environment variable {password_env} is not set or empty")
    done = grant_reader_role(conn)
    role = sql.Identifier(name)
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('outreach reader role'))")
        row = conn.execute(
            "select rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls"
            " from pg_roles where rolname = %s",
            (name,),
        ).fetchone()
        if row is None:
            conn.execute(sql.SQL("create role {} login").format(role))
            done.append(f"created login role {name}")
        elif any(row):
            raise SecurityError(
                f"role {name} exists with superuser/createrole/createdb/replication/bypassrls "
                "rights; "
                "refusing to make it a reader"
            )
        else:
            conn.execute(sql.SQL("alter role {} login").format(role))
            done.append(f"login role {name} exists; updated")
        conn.execute(sql.SQL("grant {} to {}").format(sql.Identifier(READER_ROLE), role))
        _drop_server_access(conn, name)
        if password is not None:
            conn.execute(
                sql.SQL("alter role {} password {}").format(
                    role, sql.Literal(scram_sha256_verifier(password))
                )
            )
            done.append(f"password of {name} set from ${password_env} (stored as SCRAM verifier)")
        done.append(f"{name} is a member of {READER_ROLE}")
    return done


def _drop_server_access(conn: psycopg.Connection, name: str) -> None:
    """Revoke the login's direct membership in the roles that read or write the server's
    files or run programs; refuse if it still reaches one through another role."""
    direct = conn.execute(
        """
        select granted.rolname
        from pg_auth_members as m
        join pg_roles as member on member.oid = m.member
        join pg_roles as granted on granted.oid = m.roleid
        where member.rolname = %s and granted.rolname = any(%s)
        """,
        (name, list(SERVER_ACCESS_ROLES)),
    ).fetchall()
    for (builtin,) in direct:
        conn.execute(
            sql.SQL("revoke {} from {}").format(sql.Identifier(builtin), sql.Identifier(name))
        )
    still = [
        builtin
        for builtin in SERVER_ACCESS_ROLES
        if conn.execute("select pg_has_role(%s, %s, 'member')", (name, builtin)).fetchone()[0]
    ]
    if still:
        raise SecurityError(
            f"role {name} is a member of {', '.join(still)} through another role; "
            "refusing to make it a reader"
        )
