"""Raw schemas belong to the loaders (dlt). Before dbt builds, every source table must
exist, even for a vendor that has not been loaded yet: each loader package offers
``ensure_raw_tables(database_url)`` that creates its tables empty, through its own pipeline.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

# module path of each loader's ensure_raw_tables; a new loader adds itself here
RAW_TABLE_OWNERS = [
    "loaders.intake.run",
    "loaders.apify_linkedin.run",
    "loaders.millionverifier.run",
    "loaders.ops.run",
    "loaders.linkedin_ads.run",
    "exports.outbox",  # raw_ops.deliveries (delivery log), raw_ops.delivery_dead_letters
    "outreach.events",  # raw_ops.pipeline_events / pipeline_errors
    "outreach.tombstones",  # raw_ops.gdpr_tombstones, erased people loaders drop
]


def ensure_all_raw_tables(
    database_url: str, progress: Callable[[str], object] = lambda _s: None
) -> list[str]:
    """Create missing raw tables of every loader; returns the loaders that created some."""
    created = []
    for module_name in RAW_TABLE_OWNERS:
        module = importlib.import_module(module_name)
        if module.ensure_raw_tables(database_url):
            created.append(module_name)
            progress(f"created the empty raw tables of {module_name.rsplit('.', 2)[-2]}")
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
