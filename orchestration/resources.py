"""Resources shared by the assets.

Nothing here touches the warehouse at import time: ``dagster dev`` must load the code
location without a running database, and each run resolves the warehouse URL itself
(``OUTREACH_DATABASE_URL``, or the embedded PostgreSQL, started on demand).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster_dlt import DagsterDltResource
from pydantic import Field

from orchestration.dbt_project import dbt_cli, environ


class WarehouseResource(dg.ConfigurableResource):
    """The PostgreSQL warehouse, resolved when a run asks for it (never at load time)."""

    database_url: str | None = Field(
        default=None,
        description=(
            "postgresql:// URL; unset: OUTREACH_DATABASE_URL, else the embedded PostgreSQL "
            "(started on demand)."
        ),
    )

    def url(self) -> str:
        from outreach.warehouse import database_url

        return self.database_url or database_url()

    def connect(self, **kwargs):
        from outreach.warehouse import connect

        return connect(self.url(), **kwargs)

    @contextmanager
    def dbt_environment(self) -> Iterator[dict[str, str]]:
        """Set the OUTREACH_PG_* variables profiles.yml reads, for the duration of the block.

        ``DbtCliResource`` hands ``os.environ`` to the dbt subprocess and to the adapter it
        opens for row counts, so the variables must be in the process environment while a
        dbt command runs; they are restored afterwards.
        """
        from outreach.dbt import dbt_env

        env = dbt_env(self.url())
        with environ(env):
            yield env


def build_resources() -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(),
        "dlt": DagsterDltResource(),
        "dbt": dbt_cli(),
    }
