"""Email and booking events in Dagster: ``email_events_arrivals`` watches the raw tables
``outreach serve`` and the backfill write (``raw_events.email_events`` /
``booking_events``) and records a materialization of each when new events arrived, with
how many. The engagement marts over them (``marketing.engagement_events``, ``booking_event``,
...) are views, so they are current the moment an event is committed: the sensor makes the
arrivals visible in the asset graph (freshness, counts) without a run to wait for.
"""

from __future__ import annotations

import json

import dagster as dg

TABLES = ("email_events", "booking_events")
KEYS = {t: dg.AssetKey(["raw_events", t]) for t in TABLES}


def arrivals(url: str) -> dict[str, tuple[int, str | None]]:
    """{table: (row count, latest received_at)} of the raw event tables that exist."""
    import psycopg

    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for table in TABLES:
            if conn.execute("select to_regclass(%s)", (f"raw_events.{table}",)).fetchone()[0]:
                n, latest = conn.execute(
                    f"select count(*), max(received_at) from raw_events.{table}"
                ).fetchone()
                out[table] = (n, latest.isoformat() if latest else None)
    return out


@dg.sensor(
    name="email_events_arrivals",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Records a materialization of raw_events/email_events and booking_events when the "
        "webhook receiver or a backfill stored new events (the engagement marts are views "
        "over them: current at once)."
    ),
)
def email_events_arrivals(context: dg.SensorEvaluationContext):
    from outreach.warehouse import database_url

    seen = json.loads(context.cursor) if context.cursor else {}
    now = arrivals(database_url())
    events = []
    for table, (count, latest) in now.items():
        before = seen.get(table, [0, None])[0]
        if count != before:
            events.append(
                dg.AssetMaterialization(
                    asset_key=KEYS[table],
                    metadata={
                        "rows": count,
                        "new_rows": count - before,
                        "latest_received_at": latest or "",
                    },
                )
            )
    if not events:
        return dg.SkipReason("no new events")
    return dg.SensorResult(
        asset_events=events, cursor=json.dumps({t: list(v) for t, v in now.items()})
    )


campaigns_sensors = [email_events_arrivals]
