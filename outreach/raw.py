"""Raw schemas belong to their writers (the loaders through dlt; the base and the exports
with psycopg for the ``raw_ops`` logs). Before dbt builds, every source table must exist,
even for a vendor that has not been loaded yet: each owner offers
``ensure_raw_tables(database_url) -> bool`` that creates its tables empty.

The base does not know the owners (most live in layers above it): the caller passes them.
``orchestration.raw_tables.raw_table_owners()`` is the list; the Dagster dbt asset and
``app.dbt.run_dbt`` (the CLI, the demo) hand it to ``ensure_all_raw_tables``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

EnsureRawTables = Callable[[str], bool]


def ensure_all_raw_tables(
    database_url: str,
    owners: Iterable[tuple[str, EnsureRawTables]],
    progress: Callable[[str], object] = lambda _s: None,
) -> list[str]:
    """Create the missing raw tables of every ``(name, ensure_raw_tables)`` owner; returns
    the names of the owners that created some."""
    created = []
    for name, ensure_raw_tables in owners:
        if ensure_raw_tables(database_url):
            created.append(name)
            progress(f"created the empty raw tables of {name}")
    return created


def ensure_ddl_tables(database_url: str, schema: str, tables: set[str], ddl: str) -> bool:
    """Create tables we write with psycopg (not through dlt) if any of ``tables`` is missing
    from ``schema``: run ``ddl`` (idempotent: ``create ... if not exists``) under an advisory
    lock, since concurrent DDL from two processes would collide. True if it ran."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        present = {
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables where table_schema = %s",
                (schema,),
            )
        }
        if present >= tables:
            return False
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtext('outreach raw_ops ddl'))")
            conn.execute(ddl)
    return True
