"""The company website/news checks as an asset (``raw_ops/url_checks``), its weekly
schedule and its freshness check.

One run checks the URLs due in ``company.next_company_urls_30d`` through the same entry
point as ``outreach load company-pages`` (``loaders.company_pages.run.check_company_pages``)
and records the checks in raw_ops.url_checks; the job then rebuilds what depends on them
(company.company's last_*_checked_at, the queue, website health, company signals).
The queue is read at run time and the asset declares no upstream (the queue derives from
these very checks). Nothing touches the warehouse at import time.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field

from orchestration.domains import INTAKE
from orchestration.resources import WarehouseResource

CHECKS_KEY = dg.AssetKey(["raw_ops", "url_checks"])
FRESH_WITHIN = timedelta(days=8)  # weekly schedule plus a day of slack


class CompanyPagesConfig(dg.Config):
    """How a check run goes (defaults as ``outreach load company-pages``)."""

    all_urls: bool = Field(default=False, description="every company URL, not only those due")
    concurrency: int = Field(default=32, description="checks in flight (one per host)")
    deadline_s: float = Field(default=20.0, description="seconds one request may take in all")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=CHECKS_KEY,
            group_name=INTAKE,
            kinds={"python", "postgres"},
            description=(
                "raw_ops.url_checks: one row per check of a company website, news or LinkedIn "
                "page (final URL, status, content type and hash, title, Last-Modified, or the "
                "recorded failure)."
            ),
        )
    ],
    name="company_pages_check",
    can_subset=False,
    check_specs=[
        dg.AssetCheckSpec(
            name="company_pages_fresh",
            asset=CHECKS_KEY,
            description="Company pages were checked within the last 8 days (weekly schedule).",
        )
    ],
    op_tags={"outreach/loader": "company_pages"},
)
def company_pages_assets(
    context: dg.AssetExecutionContext, config: CompanyPagesConfig, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Check the due company website/news URLs and record the checks."""
    from loaders.company_pages.run import CompanyPagesError, check_company_pages

    url = warehouse.url()
    try:
        result = check_company_pages(
            all_urls=config.all_urls,
            database_url=url,
            progress=context.log.info,
            concurrency=config.concurrency,
            request_deadline_s=config.deadline_s,
        )
    except CompanyPagesError as exc:
        raise dg.Failure(description=str(exc)) from None
    table = "\n".join(
        ["| outcome | checks |", "| --- | ---: |"]
        + [f"| {k} | {v} |" for k, v in sorted(result.by_outcome.items())]
    )
    yield dg.MaterializeResult(
        asset_key=CHECKS_KEY,
        metadata={
            "urls_due": dg.MetadataValue.int(result.urls_due),
            "checks_recorded": dg.MetadataValue.int(result.checks_recorded),
            "failing": dg.MetadataValue.int(result.failed),
            "duration_s": dg.MetadataValue.float(round(result.seconds, 2)),
            "outcomes": dg.MetadataValue.md(table if result.by_outcome else "nothing due"),
        },
    )
    yield freshness_check_result(url)


def freshness_check_result(url: str, now: datetime | None = None) -> dg.AssetCheckResult:
    """Passes when the newest company-pages check is at most 8 days old."""
    from loaders.company_pages.run import last_check_at

    now = now or datetime.now(UTC)
    last = last_check_at(url)
    passed = last is not None and now - last <= FRESH_WITHIN
    return dg.AssetCheckResult(
        check_name="company_pages_fresh",
        asset_key=CHECKS_KEY,
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "last_check": str(last) if last else "never",
            "limit_days": FRESH_WITHIN.days,
        },
        description=None if passed else "no company page checked in the last 8 days",
    )


company_pages_and_build = dg.define_asset_job(
    name="company_pages_and_build",
    selection=dg.AssetSelection.assets(company_pages_assets).downstream(),
    description=(
        "Check the company website/news URLs due in company.next_company_urls_30d, then build "
        "the models downstream of raw_ops.url_checks (company, queue, website health, signals)."
    ),
)

company_pages_weekly = dg.ScheduleDefinition(
    name="company_pages_weekly",
    job=company_pages_and_build,
    cron_schedule="0 4 * * 1",
    execution_timezone="UTC",
    description="Mondays 04:00 UTC: check the due company websites/news pages, then rebuild.",
)
