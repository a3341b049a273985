"""Constants of the OpenOutreach CRM loader: names, tables, columns it needs."""

from __future__ import annotations

PIPELINE_PREFIX = "openoutreach"  # one dlt pipeline (incremental state) per account
SOURCE_NAME = "openoutreach"
DATASET_NAME = "raw_openoutreach"  # the raw schema (dlt dataset)
DEFAULT_ACCOUNT = "default"
ACCOUNT_PATTERN = r"^[a-z0-9][a-z0-9_]{0,39}$"
CHUNK_SIZE = 50_000  # rows per arrow batch read from SQLite

# DjangoCRM tables OpenOutreach writes, the columns we read, and the incremental cursor
# (None: a small lookup read whole every run).
TABLES: dict[str, tuple[tuple[str, ...], str | None]] = {
    "crm_stage": (("id", "name", "index_number", "default", "success_stage"), None),
    "crm_closingreason": (("id", "name", "index_number", "success_reason"), None),
    "crm_lead": (
        (
            "id", "website", "first_name", "last_name", "title", "city_name", "company_name",
            "email", "description", "creation_date", "update_date",
        ),
        "update_date",
    ),
    "crm_deal": (
        (
            "id", "lead_id", "name", "ticket", "stage_id", "active", "closing_reason_id",
            "next_step", "next_step_date", "creation_date", "update_date",
            "win_closing_date", "stages_dates",
        ),
        "update_date",
    ),
}  # fmt: skip
