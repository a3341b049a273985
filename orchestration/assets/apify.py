"""The LinkedIn profile refresh (Apify) as assets, its schedule, retry sensor and stale check.

``raw_apify/profile_items`` and ``raw_apify/refresh_jobs`` are the keys the dbt translator
gives the dbt sources, so staging, change detection and ``marketing.linkedin_refresh_jobs``
hang off this asset. The queue of due profiles is read at run time.

* schedule ``linkedin_refresh_monthly`` — day 1 at 02:00 UTC (``0 2 1 * *``). Weekly
  (``0 2 * * 1``) or quarterly (``0 2 1 1,4,7,10 *``) work the same way: change the cron.
  While the circuit breaker is open (three consecutive failed jobs) the tick is skipped
  with the breaker's reason, visible in the schedule's tick history; a manual run from the
  UI (or ``outreach load apify-linkedin``) that completes closes it.
* sensor ``linkedin_refresh_rate_limit_retry`` — after a rate-limited run, requests a retry
  of the remainder at +1 h, +6 h and +24 h.
* asset check ``linkedin_refresh_not_stale`` — no completed refresh for more than 45 days
  is a failing check with ERROR severity.

Nothing touches the warehouse at import time.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field

from orchestration.assets.dbt import outreach_dbt_assets, refresh_asset_keys
from orchestration.domains import LINKEDIN_REFRESH
from orchestration.resources import WarehouseResource

APIFY_GROUP = LINKEDIN_REFRESH
ITEMS_KEY = dg.AssetKey(["raw_apify", "profile_items"])
JOBS_KEY = dg.AssetKey(["raw_apify", "refresh_jobs"])
STALE_AFTER = timedelta(days=45)
TRIGGER_TAG = "outreach/trigger"


class RefreshConfig(dg.Config):
    """How a refresh goes (defaults as ``outreach load apify-linkedin``)."""

    all_profiles: bool = Field(
        default=False, description="every tracked profile, not only the due ones"
    )
    max_profiles: int = Field(default=2000, description="profiles per actor run")
    actor_id: str = Field(default="apify~linkedin-profile-scraper")
    timeout_s: float = Field(default=600, description="seconds an actor run may take")


def _trigger(context: dg.AssetExecutionContext) -> str:
    tags = context.run.tags
    if TRIGGER_TAG in tags:
        return tags[TRIGGER_TAG]
    return "scheduled" if "dagster/schedule_name" in tags else "manual"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=ITEMS_KEY,
            group_name=APIFY_GROUP,
            kinds={"dlt", "python"},
            description="raw_apify.profile_items: every profile the Apify actor saw, with the raw "
            "item, the run/dataset/job ids and the observation time.",
        ),
        dg.AssetSpec(
            key=JOBS_KEY,
            group_name=APIFY_GROUP,
            kinds={"python", "postgres"},
            description="raw_apify.refresh_jobs: one row per refresh job "
            "(pending → running → completed | failed).",
        ),
    ],
    name="linkedin_profile_refresh",
    can_subset=False,
    check_specs=[
        dg.AssetCheckSpec(
            name="linkedin_refresh_not_stale",
            asset=JOBS_KEY,
            description="A live refresh completed within the last 45 days.",
        )
    ],
    op_tags={"outreach/loader": "apify_linkedin"},
)
def apify_refresh_assets(
    context: dg.AssetExecutionContext, config: RefreshConfig, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Refresh the due LinkedIn profiles through the Apify actor and land what it saw."""
    from loaders.apify_linkedin.run import ApifyError, refresh_profiles

    url = warehouse.url()
    trigger = _trigger(context)
    try:
        result = refresh_profiles(
            all_profiles=config.all_profiles,
            max_profiles=config.max_profiles,
            actor_id=config.actor_id,
            timeout_s=config.timeout_s,
            database_url=url,
            progress=context.log.info,
            trigger=trigger,
        )
    except ApifyError as exc:
        raise dg.Failure(description=str(exc)) from None
    summary = result.summary()
    meta = {k: v for k, v in summary.items() if k != "jobs_table" and v is not None}
    meta["trigger"] = trigger
    meta["jobs_table"] = dg.MetadataValue.md(summary["jobs_table"])
    yield dg.MaterializeResult(asset_key=ITEMS_KEY, metadata=meta)
    yield dg.MaterializeResult(
        asset_key=JOBS_KEY,
        metadata={"jobs": summary["jobs"], "jobs_failed": summary["jobs_failed"]},
    )
    yield stale_check_result(url)
    if result.skipped_reason:
        context.log.warning(f"refresh skipped: {result.skipped_reason}")
    elif result.failed and not result.rate_limited:
        raise dg.Failure(description=result.render())


def stale_check_result(url: str, now: datetime | None = None) -> dg.AssetCheckResult:
    from loaders.apify_linkedin.jobs import last_completed_refresh

    now = now or datetime.now(UTC)
    last = last_completed_refresh(url)
    age_days = None if last is None else round((now - last).total_seconds() / 86400, 1)
    passed = last is not None and now - last <= STALE_AFTER
    return dg.AssetCheckResult(
        check_name="linkedin_refresh_not_stale",
        asset_key=JOBS_KEY,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "last_completed_refresh": str(last) if last else "never",
            "age_days": age_days if age_days is not None else -1,
            "limit_days": STALE_AFTER.days,
        },
        description=None if passed else "no live LinkedIn refresh completed in the last 45 days",
    )


linkedin_refresh_job = dg.define_asset_job(
    name="linkedin_refresh",
    selection=dg.AssetSelection.assets(apify_refresh_assets),
    description="Refresh the due LinkedIn profiles through Apify (raw_apify).",
)


# The monthly refresh: the load, then the refresh build (outreach/refresh.py: the same plan
# as `outreach refresh`); each run request names the dbt assets of its plan.
linkedin_refresh_and_build_job = dg.define_asset_job(
    name="linkedin_refresh_and_build",
    selection=dg.AssetSelection.assets(apify_refresh_assets)
    | dg.AssetSelection.assets(outreach_dbt_assets),
    description="Refresh the due LinkedIn profiles through Apify, then the refresh build: "
    "the dbt models downstream of raw_apify plus those of every source loaded since the "
    "last build that covered it (as `outreach refresh`).",
)


def refresh_run_request(url: str, tags: dict[str, str]) -> dg.RunRequest:
    """A run of the load and the refresh build that ``outreach refresh`` would run now."""
    return dg.RunRequest(
        tags=tags,
        asset_selection=[ITEMS_KEY, JOBS_KEY, *refresh_asset_keys(url)],
    )


@dg.schedule(
    name="linkedin_refresh_monthly",
    cron_schedule="0 2 1 * *",
    execution_timezone="UTC",
    job=linkedin_refresh_and_build_job,
    description="Day 1 of each month, 02:00 UTC: the load and the refresh build. Skipped "
    "while the circuit breaker is open. Weekly: 0 2 * * 1; quarterly: 0 2 1 1,4,7,10 *.",
)
def linkedin_refresh_monthly(context: dg.ScheduleEvaluationContext):
    from loaders.apify_linkedin.jobs import circuit_breaker_state
    from outreach.warehouse import database_url

    url = database_url()
    is_open, reason = circuit_breaker_state(url)
    if is_open:
        return dg.SkipReason(f"circuit breaker open: {reason}")
    return refresh_run_request(url, {TRIGGER_TAG: "scheduled"})


@dg.sensor(
    name="linkedin_refresh_rate_limit_retry",
    job=linkedin_refresh_job,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After a rate-limited refresh, retries the remainder at +1 h, +6 h, +24 h.",
)
def linkedin_refresh_rate_limit_retry(context: dg.SensorEvaluationContext):
    from loaders.apify_linkedin.jobs import rate_limit_state
    from outreach.warehouse import database_url

    state = rate_limit_state(database_url())
    if not state.limited:
        return dg.SkipReason("no rate-limited refresh waiting")
    if state.next_retry_at is None:
        return dg.SkipReason("rate-limited remainder: retries exhausted (+1 h, +6 h, +24 h)")
    if datetime.now(UTC) < state.next_retry_at:
        return dg.SkipReason(
            f"next retry of {state.remaining_profiles} profiles at {state.next_retry_at}"
        )
    return dg.RunRequest(
        run_key=f"apify-retry-{state.next_retry_at.isoformat()}-{state.attempt}",
        tags={TRIGGER_TAG: "retry"},
    )
