"""The warehouse connection: ``OUTREACH_DATABASE_URL`` or the embedded server."""

from __future__ import annotations

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


def redact(url: str) -> str:
    """The URL with any password masked, for printing."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def connect(url: str | None = None, **kwargs):
    import psycopg

    return psycopg.connect(url or database_url(), **kwargs)
