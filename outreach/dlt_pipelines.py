"""The dlt pipelines the loaders land raw data with: one working dir per warehouse database.

A pipeline's state (schemas, pending load packages) lives under
``.outreach/dlt/<dbname>-<hash of user@host:port/dbname>/``, so two warehouses never share
state and an interrupted load's packages are found and finished by the next run.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from outreach.settings import load_settings
from outreach.warehouse import url_parts


def dlt_credentials(url: str) -> Any:
    """dlt PostgresCredentials for ``url``; an empty password for trust auth (the embedded
    server), which dlt otherwise refuses."""
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    credentials = PostgresCredentials(url)
    if credentials.password is None:
        credentials.password = ""
    return credentials


def pipelines_dir_for(database_url: str) -> Path:
    """The dlt working dir for this warehouse database."""
    parts = url_parts(database_url)
    key = hashlib.sha256(
        f"{parts['user']}@{parts['host']}:{parts['port']}/{parts['dbname']}".encode()
    ).hexdigest()[:12]
    return load_settings().state_dir / "dlt" / f"{parts['dbname']}-{key}"


def warehouse_pipeline(
    database_url: str, pipeline_name: str, dataset_name: str, pipelines_dir: Path | None = None
) -> Any:
    """A dlt pipeline landing into ``dataset_name`` (a raw schema) of this database."""
    import dlt

    return dlt.pipeline(
        pipeline_name=pipeline_name,
        destination=dlt.destinations.postgres(credentials=dlt_credentials(database_url)),
        dataset_name=dataset_name,
        pipelines_dir=str(pipelines_dir or pipelines_dir_for(database_url)),
    )
