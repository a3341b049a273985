"""The MillionVerifier source: email verification answers -> raw_verifier.

Resource ``email_checks`` becomes ``raw_verifier.email_checks``: one row per answer the API
gave (single check or bulk file row) with the time it arrived (``checked_at``), the run
that asked, the endpoint that answered (without the key) and the answer as given (jsonb).
It merges on ``check_id`` (sha256 of run id + email) with dlt's ``insert-only`` strategy:
re-landing a batch changes nothing. ``raw_verifier.verification_runs`` (one row per run) is
written by ``loaders.millionverifier.run`` with psycopg as the run progresses.

``loaders.millionverifier.run.verify_emails`` is the front door
(``outreach load millionverifier``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

# dlt's anonymous usage telemetry stays off unless a user turns it on explicitly
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # noqa: E402
import pyarrow as pa  # noqa: E402

from loaders.millionverifier import settings as s  # noqa: E402
from loaders.millionverifier.helpers import Answer, redact  # noqa: E402

__all__ = ["CHECKS_SCHEMA", "answers_table", "check_id", "millionverifier_source"]

# Pipeline settings, scoped to pipelines named "millionverifier" (as the intake loader does)
for key, value in {
    "normalize.parquet_normalizer.add_dlt_load_id": True,
    "normalize.parquet_normalizer.add_dlt_id": False,
    "normalize.data_writer.disable_compression": True,
    "load.delete_completed_jobs": True,
    "load.truncate_staging_dataset": True,
}.items():
    dlt.config[f"{s.PIPELINE_NAME}.{key}"] = value


class _ExpectedHintOverride(logging.Filter):
    """``response`` travels as JSON text in arrow and is hinted json on purpose; dlt warns
    about that difference on every load, which would only be noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            "several column hints were different" in message
            and f"resource: {s.CHECKS_TABLE}," in message
        )


logging.getLogger("dlt").addFilter(_ExpectedHintOverride())

_TS = pa.timestamp("us", tz="UTC")
CHECKS_SCHEMA = pa.schema(
    [
        ("check_id", pa.string()),
        ("run_id", pa.string()),
        ("email", pa.string()),
        ("result", pa.string()),
        ("quality", pa.string()),
        ("resultcode", pa.int64()),
        ("subresult", pa.string()),
        ("free", pa.bool_()),
        ("role", pa.bool_()),
        ("didyoumean", pa.string()),
        ("credits", pa.int64()),
        ("executiontime", pa.float64()),
        ("error", pa.string()),
        ("livemode", pa.bool_()),
        ("checked_at", _TS),
        ("method", pa.string()),
        ("source_url", pa.string()),
        ("bulk_file_id", pa.string()),
        ("response", pa.string()),  # JSON text -> jsonb
        ("_loaded_at", _TS),
        ("_dlt_id", pa.string()),
    ]
)
_NOT_NULL = {"check_id", "run_id", "email", "checked_at", "method", "_dlt_id"}


def column_hints() -> dict[str, dict[str, Any]]:
    """dlt column hints: text stays text (no timestamp sniffing), response is json."""
    hints: dict[str, dict[str, Any]] = {}
    for f in CHECKS_SCHEMA:
        nullable = f.name not in _NOT_NULL
        if f.name == "response":
            hints[f.name] = {"data_type": "json", "nullable": True}
        elif pa.types.is_string(f.type):
            hints[f.name] = {"data_type": "text", "nullable": nullable}
        elif pa.types.is_integer(f.type):
            hints[f.name] = {"data_type": "bigint", "nullable": nullable}
        elif pa.types.is_floating(f.type):
            hints[f.name] = {"data_type": "double", "nullable": nullable}
        elif pa.types.is_boolean(f.type):
            hints[f.name] = {"data_type": "bool", "nullable": nullable}
        else:
            hints[f.name] = {"data_type": "timestamp", "timezone": True, "nullable": nullable}
    return hints


def check_id(run_id: str, email: str) -> str:
    """A check's key: one answer per address and run."""
    return hashlib.sha256(f"{run_id}|{email}".encode()).hexdigest()


def answers_table(
    answers: Iterable[Answer], run_id: str, secrets: tuple[str | None, ...] = ()
) -> pa.Table:
    """Answers as an arrow table in the raw layout; every text is scrubbed of ``secrets``."""
    loaded_at = datetime.now(UTC)
    rows: dict[str, list[Any]] = {f.name: [] for f in CHECKS_SCHEMA}
    for a in answers:
        key = check_id(run_id, a.email)
        values = {
            "check_id": key,
            "run_id": run_id,
            "email": a.email,
            "result": a.result,
            "quality": a.quality,
            "resultcode": a.resultcode,
            "subresult": a.subresult,
            "free": a.free,
            "role": a.role,
            "didyoumean": a.didyoumean,
            "credits": a.credits,
            "executiontime": a.executiontime,
            "error": redact(a.error, secrets) if a.error else None,
            "livemode": a.livemode,
            "checked_at": a.checked_at,
            "method": a.method,
            "source_url": redact(a.source_url, secrets),
            "bulk_file_id": a.bulk_file_id,
            "response": redact(json.dumps(a.response, sort_keys=True, default=str), secrets),
            "_loaded_at": loaded_at,
            "_dlt_id": key[:20],
        }
        for name, value in values.items():
            rows[name].append(value)
    return pa.Table.from_pydict(rows, schema=CHECKS_SCHEMA)


@dlt.source(name=s.SOURCE_NAME)
def millionverifier_source(tables: Iterable[pa.Table] = ()) -> Any:
    """Resource ``email_checks`` over arrow tables of answers (``answers_table``).

    With no tables the resource yields one empty table, so a run creates the raw table
    (``ensure_raw_tables``) and the source can be built at definition time.
    """
    batches = list(tables)

    def email_checks():
        yield from batches or [CHECKS_SCHEMA.empty_table()]

    return dlt.resource(
        email_checks,
        name=s.CHECKS_TABLE,
        write_disposition={"disposition": "merge", "strategy": "insert-only"},
        primary_key="check_id",
        columns=column_hints(),
    )
