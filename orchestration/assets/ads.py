"""LinkedIn Ads in Dagster: the load, KPI models that rebuild as soon as a load lands, and
the alert step.

- ``linkedin_ads_load`` materializes ``raw_linkedin_ads/{campaign_analytics, campaigns,
  accounts, pulls}`` (``loaders.linkedin_ads.run.load_linkedin_ads``; the keys the dbt
  translator gives the dbt sources, so the ads models hang off it).
- ``ads_kpi_job`` rebuilds the KPI seed and the ads dbt models (``staging/linkedin_ads``,
  ``intermediate/ads``, ``marts/marketing/ads``), then runs the alert step
  ``exports/kpi_alerts_webhook``. ``linkedin_ads_job`` is the load plus the same.
- When: ``linkedin_ads_job`` every 6 hours (``0 */6 * * *``); ``ads_kpi_job`` as soon as a
  load lands - the ``linkedin_ads_kpi_trigger`` sensor (every 5 s) starts it after any
  load that did not already include the KPI step: the load asset materialized alone (UI,
  another job) or a load run outside Dagster (``outreach load linkedin-ads``, seen in
  ``raw_linkedin_ads.pulls`` and reported as materializations of ``raw_linkedin_ads/*``) -
  and at midnight as a backup (``0 0 * * *``).

Why a sensor and explicit jobs rather than ``AutomationCondition.eager()``: runs launched
by declarative automation use the implicit asset job and its multiprocess executor (a
process per step, each importing the code location), ``eager()`` holds back models whose
never-materialized seed is "missing", and loads outside Dagster need a sensor anyway. See
docs/linkedin_ads.md.

Nothing here touches the warehouse at import time.
"""

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import dagster as dg
from pydantic import Field

from orchestration.domains import ADS, EXPORTS
from orchestration.resources import WarehouseResource

ADS_GROUP = ADS
RAW_DATASET = "raw_linkedin_ads"
RAW_TABLES = ("campaign_analytics", "campaigns", "accounts", "pulls")
RAW_KEYS = [dg.AssetKey([RAW_DATASET, t]) for t in RAW_TABLES]
ALERT_STEP_KEY = dg.AssetKey(["exports", "kpi_alerts_webhook"])
NOTIFICATIONS_KEY = dg.AssetKey(["marketing", "kpi_alert_notifications"])
CURRENT_VALUES_KEY = dg.AssetKey(["marketing", "kpi_current_values"])

# dbt files of the ads flow (manifest original_file_path prefixes) and the KPI seed
ADS_DBT_PATHS = (
    "models/staging/linkedin_ads/",
    "models/intermediate/ads/",
    "models/marts/marketing/ads/",
)
ADS_SEED = "kpi_definitions"

_DESCRIPTIONS = {
    "campaign_analytics": "raw_linkedin_ads.campaign_analytics: daily campaign metrics from "
    "LinkedIn adAnalytics (pivot CAMPAIGN, DAILY), merged on (campaign_id, date).",
    "campaigns": "raw_linkedin_ads.campaigns: campaign names, status and schedule (adCampaigns).",
    "accounts": "raw_linkedin_ads.accounts: the ad accounts loaded (adAccounts).",
    "pulls": "raw_linkedin_ads.pulls: one row per account and load (window, row counts).",
}


# ---------------------------------------------------------------------------- the load
class LinkedInAdsLoadConfig(dg.Config):
    """Which accounts and days to load (defaults as ``outreach load linkedin-ads``)."""

    start_date: str | None = Field(
        default=None, description="YYYY-MM-DD: backfill from this day (default: incremental)"
    )
    end_date: str | None = Field(default=None, description="YYYY-MM-DD (default: today, UTC)")
    lookback_days: int = Field(
        default=7, description="days re-pulled before the newest loaded day (LinkedIn restates)"
    )
    connections_file: str | None = Field(
        default=None,
        description="connections YAML (name, account, method oauth|test); default "
        "LINKEDIN_AD_ACCOUNTS",
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=key,
            group_name=ADS_GROUP,
            kinds={"dlt", "python"},
            description=_DESCRIPTIONS[key.path[-1]],
        )
        for key in RAW_KEYS
    ],
    name="linkedin_ads_load",
    can_subset=False,
    op_tags={"outreach/loader": "linkedin_ads"},
)
def linkedin_ads_load(
    context: dg.AssetExecutionContext, config: LinkedInAdsLoadConfig, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    """Pull the days due (incremental with a 7-day lookback, or a backfill) for every
    LinkedIn ad account and merge them into raw_linkedin_ads."""
    from loaders.linkedin_ads.helpers import LinkedInAdsError
    from loaders.linkedin_ads.run import load_linkedin_ads

    url = warehouse.url()
    try:
        summary = load_linkedin_ads(
            database_url=url,
            start_date=date.fromisoformat(config.start_date) if config.start_date else None,
            end_date=date.fromisoformat(config.end_date) if config.end_date else None,
            lookback_days=config.lookback_days,
            connections_file=config.connections_file,
            trigger=f"dagster:{context.run.run_id}",
            progress=context.log.info,
        )
    except LinkedInAdsError as exc:
        raise dg.Failure(description=str(exc), metadata={"kind": exc.kind}) from None
    except ValueError as exc:  # a bad date in the run config
        raise dg.Failure(description=f"bad run config: {exc}") from None
    context.log.info(summary.render())
    counts = _row_counts(warehouse)
    windows = _window_metrics(url, summary)
    for key in RAW_KEYS:
        table = key.path[-1]
        metadata: dict[str, Any] = {"dagster/row_count": dg.MetadataValue.int(counts.get(table, 0))}
        if table == "campaign_analytics":
            metadata.update(
                {
                    "rows_fetched": dg.MetadataValue.int(summary.total("rows")),
                    "rows_new": dg.MetadataValue.int(summary.total("new")),
                    "rows_restated": dg.MetadataValue.int(summary.total("restated")),
                    "rows_unchanged": dg.MetadataValue.int(summary.total("unchanged")),
                    "rows_zeroed": dg.MetadataValue.int(summary.total("zeroed")),
                    "http": dg.MetadataValue.json(dict(summary.http)),
                    "seconds": dg.MetadataValue.float(round(summary.seconds, 3)),
                    "loaded_window_metrics": dg.MetadataValue.md(windows),
                }
            )
        elif table == "pulls":
            metadata["accounts"] = dg.MetadataValue.json(summary.as_dict()["accounts"])
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)


def _row_counts(warehouse: WarehouseResource) -> dict[str, int]:
    from psycopg import sql

    out = {}
    with warehouse.connect(autocommit=True) as conn:
        for table in RAW_TABLES:
            query = sql.SQL("select count(*) from {}").format(sql.Identifier(RAW_DATASET, table))
            out[table] = conn.execute(query).fetchone()[0]
    return out


def _window_metrics(url: str, summary) -> str:
    """Markdown: per account, the metrics of the days this load pulled."""
    import psycopg

    lines = [
        "| account | days | impressions | clicks | spend | conversions | CTR |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        for a in summary.pulls:
            account, start, end = a["account_id"], a["date_start"], a["date_end"]
            if start is None:
                continue
            row = conn.execute(
                f"""
                select coalesce(sum(impressions), 0), coalesce(sum(clicks), 0),
                       coalesce(sum(cost_in_local_currency), 0),
                       coalesce(sum(external_website_conversions), 0)
                from {RAW_DATASET}.campaign_analytics
                where account_id = %s and date between %s and %s
                """,
                (account, start, end),
            ).fetchone()
            impressions, clicks, spend, conversions = row
            ctr = f"{clicks / impressions:.2%}" if impressions else "-"
            lines.append(
                f"| {account} | {start} .. {end} | {impressions:,} | {clicks:,} | "
                f"{spend:,.2f} | {conversions:,} | {ctr} |"
            )
    return "\n".join(lines)


# ---------------------------------------------------------------------------- dbt assets
def ads_dbt_keys(manifest_path=None) -> tuple[set[dg.AssetKey], dg.AssetKey | None]:
    """(asset keys of the ads dbt models, key of the KPI seed) from the dbt manifest."""
    from orchestration.assets.dbt import MANIFEST_PATH, dbt_translator

    manifest = json.loads((manifest_path or MANIFEST_PATH).read_text())
    models, seed = set(), None
    for node in manifest["nodes"].values():
        path = node.get("original_file_path", "")
        if node["resource_type"] == "model" and path.startswith(ADS_DBT_PATHS):
            models.add(dbt_translator.get_asset_key(node))
        elif node["resource_type"] == "seed" and node["name"] == ADS_SEED:
            seed = dbt_translator.get_asset_key(node)
    return models, seed


def ads_dbt_selection() -> dg.AssetSelection:
    models, seed = ads_dbt_keys()
    return dg.AssetSelection.assets(*sorted(models | ({seed} if seed else set()), key=str))


# ---------------------------------------------------------------------------- alert step
class AlertStepConfig(dg.Config):
    plot_days: int = Field(default=14, description="days of KPI history in the plot")


@dg.asset(
    key=ALERT_STEP_KEY,
    deps=[NOTIFICATIONS_KEY, CURRENT_VALUES_KEY],
    group_name=EXPORTS,  # an outbound delivery, right of the KPI marts it reads
    kinds={"python", "webhook"},
    retry_policy=dg.RetryPolicy(
        max_retries=5, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
    ),
    description=(
        "The alert step: POSTs every new row of marketing.kpi_alert_notifications to "
        "ALERT_WEBHOOK_URL (JSON, HMAC-SHA256 signed, Idempotency-Key), once per row; every "
        "attempt is logged in raw_ops.deliveries. Runs as soon as the KPI models rebuild."
    ),
)
def kpi_alerts_webhook(
    context: dg.AssetExecutionContext, config: AlertStepConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    from exports.alerts import TARGET, AlertConfigError, deliver_alerts
    from orchestration.assets.exports import delivery_metadata, raise_if_unavailable

    url = warehouse.url()
    try:
        report = deliver_alerts(url, progress=context.log.info)
    except AlertConfigError as exc:
        raise dg.Failure(description=str(exc)) from None
    metadata: dict[str, Any] = {
        **delivery_metadata(report, url, TARGET),
        **kpi_metadata(url, plot_days=config.plot_days),
    }
    # receiver unavailable or circuit breaker open: rows stay pending (nothing is lost);
    # fail so the retry policy tries again
    raise_if_unavailable(report, metadata, "alert webhook")
    if report.stopped:
        metadata["note"] = dg.MetadataValue.text(report.stopped)
    return dg.MaterializeResult(metadata=metadata)


def kpi_metadata(url: str, *, plot_days: int = 14) -> dict[str, Any]:
    """Current KPI values (markdown table), open alerts, and a text plot of each KPI that is
    breached or at risk against its threshold over the last ``plot_days`` days."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("select to_regclass('marketing.kpi_current_values')").fetchone()[0] is None:
            return {}
        current = conn.execute(
            """
            select kpi_value_id, kpi_name, metric, scope_name, current_value, target_value,
                   alert_threshold, direction, status, data_as_of
            from marketing.kpi_current_values
            order by case status when 'breached' then 0 when 'at_risk' then 1 else 2 end,
                     kpi_id, scope_name
            """
        ).fetchall()
        open_alerts = conn.execute(
            "select count(*) from marketing.kpi_alerts where alert_status = 'open'"
        ).fetchone()[0]
        watched = [r for r in current if r[8] in ("breached", "at_risk")][:4]
        series = {}
        for row in watched:
            series[row[0]] = conn.execute(
                """
                select date_day, kpi_value from intermediate.int_ads_kpi_values_daily
                where kpi_value_id = %s and date_day > data_as_of - %s
                order by date_day
                """,
                (row[0], plot_days),
            ).fetchall()
    counts: dict[str, int] = {}
    for r in current:
        counts[r[8]] = counts.get(r[8], 0) + 1
    table = [
        "| KPI | scope | value | target | threshold | status | data of |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for r in current[:25]:
        table.append(
            f"| {r[1]} | {r[3]} | {_fmt(r[2], r[4])} | {_fmt(r[2], r[5])} | "
            f"{_fmt(r[2], r[6])} | {r[8]} | {r[9]} |"
        )
    if len(current) > 25:
        table.append(f"| ... {len(current) - 25} more | | | | | | |")
    plots = [text_plot(f"{r[1]} - {r[3]}", series[r[0]], r[6], r[5], r[2]) for r in watched]
    out = {
        "kpis_by_status": dg.MetadataValue.json(counts),
        "open_alerts": dg.MetadataValue.int(open_alerts),
        "kpi_current_values": dg.MetadataValue.md("\n".join(table)),
    }
    if plots:
        out["kpi_vs_threshold"] = dg.MetadataValue.md("\n\n".join(plots))
    return out


_RATIOS = {"ctr", "conversion_rate"}


def _fmt(metric: str, value) -> str:
    if value is None:
        return "-"
    return f"{float(value):.2%}" if metric in _RATIOS else f"{float(value):,.2f}"


def text_plot(title: str, points, threshold, target, metric: str, height: int = 8) -> str:
    """A small fixed-width chart of a KPI's daily values with its threshold (``-``) and
    target (``=``) lines, as a markdown code block: readable in the Dagster UI and in logs."""
    values = [float(v) for _, v in points if v is not None]
    if not values:
        return f"**{title}**: no data"
    marks = [float(threshold), float(target)]
    lo, hi = min(values + marks), max(values + marks)
    span = (hi - lo) or 1.0

    def level(v: float) -> int:
        return round((v - lo) / span * (height - 1))

    rows = []
    for lvl in range(height - 1, -1, -1):
        label = _fmt(metric, lo + span * lvl / (height - 1))
        cells = []
        for _, v in points:
            if v is not None and level(float(v)) == lvl:
                cells.append("o")
            elif level(float(threshold)) == lvl:
                cells.append("-")
            elif level(float(target)) == lvl:
                cells.append("=")
            else:
                cells.append(" ")
        rows.append(f"{label:>10} |{' '.join(cells)}")
    first, last = points[0][0], points[-1][0]
    rows.append(f"{'':>10} +{'-' * (2 * len(points) - 1)}")
    rows.append(f"{'':>10}  {first} .. {last}   o value  - threshold  = target")
    return f"**{title}**\n\n```\n" + "\n".join(rows) + "\n```"


# ---------------------------------------------------------------------------- jobs
KPI_JOB = "ads_kpi_job"
LOAD_JOB = "linkedin_ads_job"


def ads_jobs():
    kpis = ads_dbt_selection() | dg.AssetSelection.assets(ALERT_STEP_KEY)
    load_and_alert = dg.define_asset_job(
        name=LOAD_JOB,
        selection=dg.AssetSelection.assets(linkedin_ads_load) | kpis,
        executor_def=dg.in_process_executor,  # no process per step: the alert comes sooner
        description=(
            "Load LinkedIn Ads (incremental, 7-day lookback), rebuild the ads models and KPI "
            "values, send new alerts."
        ),
    )
    kpi_job = dg.define_asset_job(
        name=KPI_JOB,
        selection=kpis,
        executor_def=dg.in_process_executor,
        description=(
            "Rebuild the KPI values (and every ads model) from the latest loaded data, then "
            "send new alerts: started by linkedin_ads_kpi_trigger right after a load, and at "
            "midnight as a backup."
        ),
    )
    return load_and_alert, kpi_job


linkedin_ads_job, ads_kpi_job = ads_jobs()

linkedin_ads_every_6_hours = dg.ScheduleDefinition(
    name="linkedin_ads_every_6_hours",
    job=linkedin_ads_job,
    cron_schedule="0 */6 * * *",
    execution_timezone="UTC",
    description="Every 6 hours: load LinkedIn Ads, rebuild the KPIs, send new alerts.",
)

ads_kpi_midnight_backup = dg.ScheduleDefinition(
    name="ads_kpi_midnight_backup",
    job=ads_kpi_job,
    cron_schedule="0 0 * * *",
    execution_timezone="UTC",
    description="00:00 UTC: rebuild KPI values from the latest data, then check alerts (backup).",
)


# ---------------------------------------------------------------------------- sensor
ANALYTICS_KEY = dg.AssetKey([RAW_DATASET, "campaign_analytics"])
REPORTED_BY = "linkedin_ads_kpi_trigger"
CLI_REPORTED_BY = "outreach-cli"  # orchestration/reporting.py REPORTED_BY


def _external_pulls(after: str | None) -> list[tuple] | str:
    """New pulls (loads) in raw_linkedin_ads.pulls, or why they cannot be read."""
    import psycopg

    from outreach.embedded import EmbeddedError
    from outreach.warehouse import database_url

    try:
        url = database_url(start=False)
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            if conn.execute(f"select to_regclass('{RAW_DATASET}.pulls')").fetchone()[0] is None:
                return []
            return conn.execute(
                f"""
                select pull_id, account_id, trigger, source, rows,
                       new_rows + restated_rows + zeroed_rows, _loaded_at
                from {RAW_DATASET}.pulls
                where _loaded_at > coalesce(%s::timestamptz, '-infinity')
                order by _loaded_at
                """,
                (after,),
            ).fetchall()
    except (EmbeddedError, psycopg.OperationalError) as exc:
        return f"warehouse not reachable: {type(exc).__name__}"


@dg.sensor(
    name="linkedin_ads_kpi_trigger",
    job_name=KPI_JOB,
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Starts ads_kpi_job (KPI models + alert step) as soon as a LinkedIn Ads load lands: a "
        "materialization of raw_linkedin_ads/campaign_analytics by a run that did not rebuild "
        "the KPIs itself, or a load run outside Dagster (reported as a materialization)."
    ),
)
def linkedin_ads_kpi_trigger(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    state = json.loads(context.cursor) if context.cursor else {}
    instance = context.instance
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=ANALYTICS_KEY, after_storage_id=state.get("event")),
        limit=1000,
        ascending=True,
    ).records
    pulls = _external_pulls(state.get("pulls"))
    if isinstance(pulls, str):
        pulls = []  # the warehouse is down: Dagster loads still count, external ones wait
    new_state = {
        "event": records[-1].storage_id if records else state.get("event"),
        "pulls": pulls[-1][-1].isoformat() if pulls else state.get("pulls"),
    }
    cursor = json.dumps(new_state)
    if not context.cursor:  # first evaluation: start from now, do not replay history
        return dg.SensorResult(cursor=cursor, skip_reason="watching LinkedIn Ads loads from now on")

    reasons = []
    cli_reported = False
    for record in records:
        mat = record.asset_materialization
        reported_by = mat.metadata.get("reported_by") if mat is not None else None
        if reported_by == dg.MetadataValue.text(REPORTED_BY):
            continue  # our own report of an external load (its run is requested below)
        if reported_by == dg.MetadataValue.text(CLI_REPORTED_BY):
            cli_reported = True  # `outreach load linkedin-ads` reported itself
            continue  # the pulls below request the KPI run
        run = instance.get_run_by_id(record.run_id) if record.run_id else None
        if (
            run is not None
            and run.job_name == LOAD_JOB
            and (run.asset_selection is None or ALERT_STEP_KEY in run.asset_selection)
        ):
            continue  # that run rebuilt the KPIs and ran the alert step itself
        reasons.append(f"load materialized by run {record.run_id or '(reported)'}")
    external = [p for p in pulls if not (p[2] or "").startswith("dagster:") and p[5]]
    events = []
    if external and not cli_reported:  # not reported by the CLI (reporting off or failed)
        metadata = {
            "pulls": dg.MetadataValue.json(
                [
                    {"pull_id": p[0], "account_id": p[1], "trigger": p[2], "source": p[3]}
                    for p in external
                ]
            ),
            "rows_changed": dg.MetadataValue.int(sum(p[5] for p in external)),
            "reported_by": dg.MetadataValue.text(REPORTED_BY),
        }
        events = [dg.AssetMaterialization(asset_key=key, metadata=metadata) for key in RAW_KEYS]
        reasons.append(f"{len(external)} pulls loaded outside Dagster")
    if external and cli_reported:
        reasons.append(f"{len(external)} pulls loaded outside Dagster (reported by the CLI)")
    if not reasons:
        return dg.SensorResult(cursor=cursor, skip_reason="no new LinkedIn Ads load")
    queued = instance.get_runs(
        filters=dg.RunsFilter(
            job_name=KPI_JOB, statuses=[dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]
        ),
        limit=1,
    )
    if queued:  # a run that has not started yet will read the new data anyway
        return dg.SensorResult(
            cursor=cursor, asset_events=events, skip_reason="a KPI run is queued"
        )
    context.log.info("; ".join(reasons))
    run_key = f"ads-kpi-{new_state['event']}-{new_state['pulls']}"
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=run_key, tags={"outreach/trigger": "ads_load"})],
        asset_events=events,
        cursor=cursor,
    )


ads_assets = [linkedin_ads_load, kpi_alerts_webhook]
ads_schedules = [linkedin_ads_every_6_hours, ads_kpi_midnight_backup]
ads_sensors = [linkedin_ads_kpi_trigger]
