"""Plot-ready materialization metadata, one per domain.

Dagster plots every numeric metadata entry of an asset across its materializations (the
asset's "Plots" tab), so each domain's headline mart gets a few integer counts by
category, ``<name>/<category>``, plus the same counts as one JSON entry for reading:

- intake ``company/company``: companies by renewal month set or missing;
- linkedin_refresh ``marketing/people_intelligence``: changes by type;
- email_verification ``people/contact_verification``: contacts by email status;
- ads ``marketing/kpi_current_values``: KPIs by status (on_track, at_risk, breached, no_data);
- ops ``marketing/pipeline_events``: step runs of the last 24 h by status;
- campaigns ``bit/signal``: signals by reason, and how many wait to be processed;
- exports ``marketing/outbox_delivery_state``: outbox rows by delivery state.

Used by the Dagster dbt asset and by CLI reporting (orchestration/reporting.py), so both
histories plot the same series.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import psycopg

_QUERIES: dict[dg.AssetKey, tuple[str, str]] = {
    dg.AssetKey(["company", "company"]): (
        "companies",
        "select case when renewal_month is null then 'no_renewal_month' "
        "else 'with_renewal_month' end, count(*) from company.company group by 1",
    ),
    dg.AssetKey(["marketing", "people_intelligence"]): (
        "changes",
        "select change_type, count(*) from marketing.people_intelligence group by 1",
    ),
    dg.AssetKey(["people", "contact_verification"]): (
        "contacts",
        "select email_status, count(*) from people.contact_verification group by 1",
    ),
    dg.AssetKey(["marketing", "kpi_current_values"]): (
        "kpis",
        "select status, count(*) from marketing.kpi_current_values group by 1",
    ),
    dg.AssetKey(["marketing", "pipeline_events"]): (
        "events_24h",
        "select status, count(*) from marketing.pipeline_events "
        "where created_at > now() - interval '24 hours' group by 1",
    ),
    dg.AssetKey(["bit", "signal"]): (
        "signals",
        "select reason, count(*) from bit.signal group by 1 "
        "union all select 'unprocessed', count(*) from bit.signal where processed_at is null",
    ),
    dg.AssetKey(["marketing", "outbox_delivery_state"]): (
        "outbox",
        "select state, count(*) from marketing.outbox_delivery_state group by 1",
    ),
}


def plot_metadata(conn: psycopg.Connection, key: dg.AssetKey) -> dict[str, Any]:
    """Counts by category for a domain's headline asset; {} for other assets or when the
    relation cannot be read (never fails the materialization it decorates)."""
    if key not in _QUERIES:
        return {}
    name, query = _QUERIES[key]
    try:
        rows = conn.execute(query).fetchall()
    except psycopg.Error:
        return {}
    counts = {str(category if category is not None else "null"): int(n) for category, n in rows}
    metadata: dict[str, Any] = {
        f"{name}/{category}": dg.MetadataValue.int(n) for category, n in sorted(counts.items())
    }
    metadata[f"{name}_by_category"] = dg.MetadataValue.json(dict(sorted(counts.items())))
    return metadata
