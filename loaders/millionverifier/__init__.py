"""The MillionVerifier source: email verification answers -> raw_verifier.

Resource ``email_checks`` becomes ``raw_verifier.email_checks``: one row per answer the API
gave (single check or bulk file row) with the time it arrived (``checked_at``), the run
that asked, the endpoint that answered (without the key) and the answer as given (jsonb).
It merges on ``check_id`` (sha256 of run id + email) with dlt's ``insert-only`` strategy:
re-landing a batch changes nothing. What an answer means (green/yellow/red/gray) is dbt's.
``loaders.millionverifier.run.verify_emails`` is the front door and also writes
``raw_verifier.verification_runs``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import dlt
import pyarrow as pa

from loaders.millionverifier import settings as s
from loaders.millionverifier.helpers import mask_api_keys

__all__ = ["CHECKS_SCHEMA", "answers_table", "check_id", "millionverifier_source"]

# Pipeline settings are the "millionverifier" sections of .dlt/config.toml (rows carry their
# own _dlt_id, uncompressed load files). ``response`` is JSON text in arrow, hinted json on
# purpose: the pipeline factory quiets dlt's warning about it (JSON_TEXT_RESOURCES).
JSON_TEXT_RESOURCES = (s.CHECKS_TABLE,)

_TS, _TEXT, _KEYS = pa.timestamp("us", tz="UTC"), pa.string(), {"check_id", "run_id", "email"}
CHECKS_SCHEMA = pa.schema(
    [pa.field(name, _TEXT, nullable=name not in _KEYS) for name in ("check_id", "run_id", "email")]
    + [(n, _TEXT) for n in ("result", "quality")]
    + [("resultcode", pa.int64()), ("subresult", _TEXT), ("free", pa.bool_())]
    + [("role", pa.bool_()), ("didyoumean", _TEXT), ("credits", pa.int64())]
    + [("executiontime", pa.float64()), ("error", _TEXT), ("livemode", pa.bool_())]
    + [pa.field("checked_at", _TS, nullable=False), pa.field("method", _TEXT, nullable=False)]
    + [("source_url", _TEXT), ("bulk_file_id", _TEXT), ("response", _TEXT)]
    + [("_loaded_at", _TS), pa.field("_dlt_id", _TEXT, nullable=False)]
)


def check_id(run_id: str, email: str) -> str:
    """A check's key: one answer per address and run."""
    return hashlib.sha256(f"{run_id}|{email}".encode()).hexdigest()


def answers_table(
    answers: Iterable[dict[str, Any]], run_id: str, secrets: tuple[str | None, ...] = ()
) -> pa.Table:
    """Answer rows (``helpers.answer_row``) as an arrow table in the raw layout; the texts
    that could quote a request are scrubbed of ``secrets``."""
    loaded_at, rows = datetime.now(UTC), []
    for answer in answers:
        key = check_id(run_id, answer["email"])
        rows.append(
            {
                **answer,
                "check_id": key,
                "run_id": run_id,
                "_loaded_at": loaded_at,
                "_dlt_id": key[:20],
                "error": mask_api_keys(answer["error"], secrets) if answer["error"] else None,
                "source_url": mask_api_keys(answer["source_url"], secrets),
                "response": mask_api_keys(
                    json.dumps(answer["response"], sort_keys=True, default=str), secrets
                ),
            }
        )
    return pa.Table.from_pylist(rows, schema=CHECKS_SCHEMA)


@dlt.source(name=s.SOURCE_NAME)
def millionverifier_source(tables: Iterable[pa.Table] = ()) -> Any:
    """Resource ``email_checks`` over arrow tables of answers (``answers_table``); with none
    it yields one empty table, which creates the raw table."""
    batches = list(tables) or [CHECKS_SCHEMA.empty_table()]
    return dlt.resource(
        iter(batches),
        name=s.CHECKS_TABLE,
        write_disposition={"disposition": "merge", "strategy": "insert-only"},
        primary_key="check_id",
        columns={"response": {"data_type": "json"}},
    )
