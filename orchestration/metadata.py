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
- exports ``marketing/outbox_delivery_state``: outbox rows by delivery state;
- campaigns ``marketing/campaign_performance``: the funnel of all campaigns by stage (sent,
  delivered, human opened, clicked, replied, booked, handed off), and ``funnel_chart``, a
  Markdown bar chart of each campaign's funnel (the UI renders ``MetadataValue.md``).

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


FUNNEL_KEY = dg.AssetKey(["marketing", "campaign_performance"])
# (stage, campaign_performance column), in funnel order
FUNNEL = (
    ("sent", "sends"),
    ("delivered", "delivered"),
    ("human_opened", "unique_human_opens"),
    ("clicked", "unique_clicks"),
    ("replied", "replies"),
    ("booked", "meetings_booked"),
    ("handed_off", "handoffs"),
)
FUNNEL_CAMPAIGNS = 20  # the chart shows the campaigns with the most sends
BAR_WIDTH = 30


def _bar(n: int, top: int) -> str:
    return "█" * round(BAR_WIDTH * n / top) if top else ""


def funnel_markdown(rows: list[tuple]) -> str:
    """A Markdown bar chart per campaign: ``rows`` are (campaign name, *FUNNEL counts)."""
    if not rows:
        return "No campaign sends yet."
    parts = []
    for name, *counts in rows:
        sent = counts[0]
        parts.append(f"**{name}**\n\n| stage | count | of sent | |\n| --- | ---: | ---: | --- |")
        for (stage, _column), n in zip(FUNNEL, counts, strict=True):
            share = f"{100 * n / sent:.1f} %" if sent else ""
            parts.append(f"| {stage} | {n} | {share} | `{_bar(n, sent)}` |")
        parts.append("")
    return "\n".join(parts)


def funnel_metadata(conn: psycopg.Connection) -> dict[str, Any]:
    """Totals per funnel stage (``funnel/<stage>``, plotted) and the per-campaign chart."""
    columns = ", ".join(column for _stage, column in FUNNEL)
    rows = conn.execute(
        f"select coalesce(campaign_name, cast(campaign_id as text)), {columns}"
        " from marketing.campaign_performance where grain = 'campaign'"
        " order by sends desc, campaign_id"
    ).fetchall()
    totals = [sum(int(r[i + 1]) for r in rows) for i in range(len(FUNNEL))]
    metadata: dict[str, Any] = {
        f"funnel/{stage}": dg.MetadataValue.int(n)
        for (stage, _column), n in zip(FUNNEL, totals, strict=True)
    }
    chart = funnel_markdown([(r[0], *map(int, r[1:])) for r in rows[:FUNNEL_CAMPAIGNS]])
    if len(rows) > FUNNEL_CAMPAIGNS:
        chart += f"\n\n({len(rows) - FUNNEL_CAMPAIGNS} smaller campaigns not shown)"
    metadata["funnel_chart"] = dg.MetadataValue.md(chart)
    return metadata


def plot_metadata(conn: psycopg.Connection, key: dg.AssetKey) -> dict[str, Any]:
    """Counts by category for a domain's headline asset; {} for other assets or when the
    relation cannot be read (never fails the materialization it decorates)."""
    if key == FUNNEL_KEY:
        try:
            return funnel_metadata(conn)
        except psycopg.Error:
            return {}
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
