"""The warehouse connection: ``OUTREACH_DATABASE_URL`` or the embedded server."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from outreach.settings import Settings, load_settings


def embedded_server(settings: Settings | None = None):
    from outreach.embedded import EmbeddedPostgres

    settings = settings or load_settings()
    return EmbeddedPostgres(settings.state_dir)


def database_url(settings: Settings | None = None, *, start: bool = True) -> str:
    """The warehouse URL; starts the embedded server on demand unless ``start`` is False."""
    settings = settings or load_settings()
    if settings.database_url:
        return settings.database_url
    server = embedded_server(settings)
    return server.start() if start else server.url()


def url_parts(url: str) -> dict[str, str]:
    """host/port/user/password/dbname of a postgresql:// URL (for dbt's env-driven profile)."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgresql", "postgres"}:
        raise ValueError(
            f"OUTREACH_DATABASE_URL must start with postgresql://, got {parts.scheme}://"
        )
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or 5432),
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "dbname": (parts.path or "/").lstrip("/") or "postgres",
    }


def mask_url_password(url: str) -> str:
    """The URL with any password masked, for printing."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


_DURATION = re.compile(r"^[0-9]+(\.[0-9]+)?(us|ms|s|min|h|d)?$")


class SettingError(ValueError):
    """A setting from the environment has a value we cannot use."""


def _duration(name: str, value: str) -> str:
    compact = value.replace(" ", "")
    if not _DURATION.match(compact):
        raise SettingError(
            f"{name}={value!r}: expected a PostgreSQL duration such as 15min, 90s, 500ms "
            "or 0 (no limit)"
        )
    return compact


def session_options(settings: Settings | None = None) -> str:
    """libpq ``options`` for the connections of builds and loads (dbt via ``PGOPTIONS``,
    dlt via its credentials): ``statement_timeout`` (``OUTREACH_STATEMENT_TIMEOUT``,
    default 15min; a model that needs longer raises its own, see the ``statement_timeout``
    macro) and ``client_connection_check_interval`` (``OUTREACH_CLIENT_CHECK_INTERVAL``,
    default 5s: the server notices a client that went away, killed dbt included, within
    that interval and cancels its query; PostgreSQL 14+)."""
    settings = settings or load_settings()
    timeout = _duration("OUTREACH_STATEMENT_TIMEOUT", settings.statement_timeout)
    check = _duration("OUTREACH_CLIENT_CHECK_INTERVAL", settings.client_check_interval)
    return f"-c statement_timeout={timeout} -c client_connection_check_interval={check}"


# SQLSTATE classes of a failed connection: 08 connection exception, 28 invalid
# authorization (wrong password), 57P03 cannot connect now (starting up / shutting down)
_CONNECT_SQLSTATES = ("08", "28", "57P03")


def connection_failure(exc: BaseException) -> BaseException | None:
    """The connection error behind ``exc`` (psycopg's or psycopg2's OperationalError from
    connecting, or dlt's DestinationConnectionError), following causes, contexts and dlt's
    PipelineStepFailed.exception; None when ``exc`` is something else."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        names = {cls.__name__ for cls in type(e).__mro__}
        if "DestinationConnectionError" in names:
            return e
        if "OperationalError" in names:
            state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
            if state is None or state.startswith(_CONNECT_SQLSTATES):
                return e
        todo.extend([e.__cause__, e.__context__, getattr(e, "exception", None)])
    return None


def connect(url: str | None = None, **kwargs):
    import psycopg

    return psycopg.connect(url or database_url(), **kwargs)
