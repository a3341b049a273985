"""LinkedIn company pages through an Apify company actor: ``refresh_company_pages``.

The job machinery is the profile refresh's (``loaders.apify_linkedin``): the official
``apify-client`` with its retries and backoff (``helpers.make_client``), our run timeout
(``wait_for_run``), dataset paging (``dataset_items``), typed errors (``typed_error``), job
rows pending -> running -> completed | failed with one committed statement per status
change (``jobs.create_job`` / ``update_job``), the +1 h / +6 h / +24 h rate-limit retry
schedule and the circuit breaker (three failed jobs in a row: scheduled and retry runs are
skipped until a manual run completes). Its jobs have a table and a Barton segment of
their own: ``raw_apify.company_refresh_jobs``, ids ``04.04.07.XX.NNNNN.NNN``.

Every company item lands as a LinkedIn check in ``raw_ops.url_checks`` (checker
``apify-company``; detail: company_name, industry, employee_count, company_size, website,
the job/run/dataset ids and the item), which takes the page off the company queue and feeds
headcount_change / company_profile_changed. A 429 that outlasts the client's retries keeps
what arrived (partial results); requested pages missing from the dataset stay due.

Item shape: the documented output of ``fraktalapi/linkedin-company-scraper`` (``name``,
``industry``, ``employeeCount``, ``companySize``, ``website``, ``url``; input
``companyUrls``); ``companyName`` / ``employeesCount`` / ``linkedinUrl`` are read too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import psycopg

from loaders.apify_linkedin import jobs as J
from loaders.apify_linkedin import settings as apify_settings
from loaders.apify_linkedin.helpers import (
    ApifyError,
    ApifyRateLimited,
    dataset_items,
    make_client,
    normalize_linkedin_url,
    typed_error,
    wait_for_run,
)
from outreach.events import recorded
from outreach.http import mask_secrets
from outreach.settings import load_settings
from outreach.url_checks import record_url_checks

Progress = Callable[[str], Any]
CHECKER = "apify-company"
DEFAULT_ACTOR_ID = "fraktalapi~linkedin-company-scraper"
INPUT_KEY = "companyUrls"
COMPANY_JOBS = J.JobTable(
    table=f"{apify_settings.DATASET_NAME}.company_refresh_jobs",
    sequence=f"{apify_settings.DATASET_NAME}.company_refresh_job_seq",
    kind="07",
    what="Apify LinkedIn company-page refresh jobs",
    command="outreach load company-pages",
)


@dataclass
class CompanyRefreshResult:
    job_unique_id: str | None = None
    status: str | None = None
    pages_due: int = 0
    pages_checked: int = 0
    pages_skipped: list[str] = field(default_factory=list)
    rate_limited: bool = False
    error: str | None = None
    skipped_reason: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.skipped_reason is None and self.status in (None, "completed")

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 3)}

    def render(self) -> str:
        if self.skipped_reason:
            return f"LinkedIn company pages skipped: {self.skipped_reason}"
        if self.job_unique_id is None:
            return "no LinkedIn company pages due"
        return (
            f"job {self.job_unique_id} {self.status}: {self.pages_checked}/{self.pages_due} "
            f"company pages, {len(self.pages_skipped)} skipped"
            + (" (rate-limited)" if self.rate_limited else "")
            + (f" - {self.error}" if self.error else "")
        )


def due_linkedin_pages(database_url: str, *, all_urls: bool = False) -> list[tuple[int, str]]:
    """(company_id, LinkedIn URL) of the company queue (every company's with all_urls)."""
    sql = (
        "select company_id, linkedin_url from company.company where linkedin_url is not null"
        if all_urls
        else "select company_id, url from company.next_company_urls_30d"
        " where url_type = 'linkedin' order by last_checked_at nulls first"
    )
    with psycopg.connect(database_url) as conn:
        return [(cid, url) for cid, url in conn.execute(sql).fetchall()]


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.replace(",", "").strip().isdigit():
        return int(value.replace(",", ""))
    return None


def page_check(item: Any, company_ids: dict[str, int], ids: dict[str, Any]) -> dict | None:
    """A url_checks row for one dataset item (None: not a usable company page)."""
    if not isinstance(item, dict):
        return None
    url = _text(item.get("url")) or _text(item.get("linkedinUrl"))
    key = normalize_linkedin_url(url)
    name = _text(item.get("name")) or _text(item.get("companyName"))
    if key not in company_ids or not name:
        return None
    return {
        "url_type": "linkedin",
        "url": url,
        "company_id": company_ids[key],
        "checker": CHECKER,
        "outcome": "ok",
        "detail": {
            "company_name": name,
            "industry": _text(item.get("industry")),
            "employee_count": _count(item.get("employeeCount", item.get("employeesCount"))),
            "company_size": _text(item.get("companySize")),
            "website": _text(item.get("website")),
            **ids,
            "item": item,
        },
    }


def _endpoint(progress: Progress) -> tuple[str, str, Any]:
    settings = load_settings()
    if not settings.test_mode:
        if not settings.apify_token:
            raise ApifyError("APIFY_TOKEN is not set (or OUTREACH_TEST_MODE=true)")
        return settings.apify_base_url, settings.apify_token, None
    token = settings.apify_token or apify_settings.TEST_MODE_TOKEN
    if urlsplit(settings.apify_base_url).hostname in ("127.0.0.1", "localhost", "::1"):
        return settings.apify_base_url, token, None
    from testing.apify_companies import CompanyActorTestServer

    server = CompanyActorTestServer(token=token)
    base = server.start()
    progress(f"test mode: started the local Apify company-actor stand-in at {base}")
    return base, token, server


@recorded("load.apify_companies")
def refresh_company_pages(
    *,
    all_urls: bool = False,
    database_url: str | None = None,
    progress: Progress = print,
    trigger: str = apify_settings.TRIGGER_MANUAL,
    actor_id: str = DEFAULT_ACTOR_ID,
    timeout_s: float = apify_settings.DEFAULT_TIMEOUT_S,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    endpoint: tuple[str, str] | None = None,
    **client_options: Any,
) -> CompanyRefreshResult:
    """Refresh the due LinkedIn company pages in one actor run recorded as one job.
    ``endpoint`` = (base URL, token) overrides the settings; ``client_options`` go to
    ``make_client`` (max_retries, min_retry_delay_s, http_timeout_s)."""
    started = time.monotonic()
    url = database_url or _warehouse_url()
    J.ensure_tables(url, COMPANY_JOBS)
    result = CompanyRefreshResult()
    if trigger != apify_settings.TRIGGER_MANUAL:
        is_open, reason = J.circuit_breaker_state(url, COMPANY_JOBS)
        if is_open:
            result.skipped_reason = f"circuit breaker {reason}"
            progress(result.render())
            return result
    due = due_linkedin_pages(url, all_urls=all_urls)
    result.pages_due = len(due)
    if not due:
        progress(result.render())
        return result
    server = None
    if endpoint is None:
        base_url, token, server = _endpoint(progress)
    else:
        base_url, token = endpoint
    client = make_client(base_url, token, **client_options)
    try:
        _run_job(url, client, token, due, result, trigger, actor_id, timeout_s, clock, progress)
    finally:
        client.http_client.close()
        if server is not None:
            server.stop()
    result.seconds = time.monotonic() - started
    progress(result.render())
    return result


def _run_job(url, client, token, due, result, trigger, actor_id, timeout_s, clock, progress):
    urls = [u for _, u in due]
    company_ids = {normalize_linkedin_url(u): cid for cid, u in due}
    job = J.create_job(
        url,
        trigger=trigger,
        total_profiles=len(urls),
        actor_id=actor_id,
        metadata={"trigger": trigger, "source": "apify", "kind": "company_pages"},
        jobs=COMPANY_JOBS,
    )
    result.job_unique_id = job.job_unique_id
    progress(f"job {job.job_unique_id}: {len(urls)} LinkedIn company pages, pending")
    started, meta, checks, error = time.monotonic(), {"timeout_seconds": timeout_s}, [], None
    run_id = dataset_id = None
    what = f"starting actor {actor_id}"
    try:
        run = client.actor(actor_id).start(run_input={INPUT_KEY: urls})
        run_id, dataset_id = run.id, run.default_dataset_id
        J.update_job(
            url,
            job,
            jobs=COMPANY_JOBS,
            status="running",
            run_id=run_id,
            dataset_id=dataset_id,
            run_started_at=clock(),
        )
        what = f"waiting for actor run {run_id}"
        wait_for_run(
            client,
            run_id,
            remaining_s=timeout_s,
            timeout_s=timeout_s,
            http_timeout_s=apify_settings.HTTP_TIMEOUT_S,
        )
        ids = {"job_unique_id": job.job_unique_id, "run_id": run_id, "dataset_id": dataset_id}
        try:
            for item in dataset_items(client, dataset_id, page_size=apify_settings.PAGE_SIZE):
                check = page_check(item, company_ids, ids)
                if check is not None:
                    checks.append(check)
        except ApifyRateLimited as exc:  # partial results: keep what arrived
            error = exc
    except Exception as exc:
        typed = exc if isinstance(exc, ApifyError) else typed_error(client, exc, what)
        if typed is None:
            J.update_job(
                url,
                job,
                jobs=COMPANY_JOBS,
                status="failed",
                error_message=f"loader error: {type(exc).__name__}",
                run_completed_at=clock(),
            )
            raise
        error, checks = typed, []
    checked_at = clock()
    for check in checks:
        check["checked_at"] = checked_at
    record_url_checks(url, checks)
    seen = {normalize_linkedin_url(c["url"]) for c in checks}
    result.pages_checked = len(seen)
    result.pages_skipped = [u for u in urls if normalize_linkedin_url(u) not in seen]
    result.status = "completed" if checks else "failed"
    if error is None and not checks:
        error = ApifyError(f"dataset {dataset_id} held no usable company page")
    if isinstance(error, ApifyRateLimited):
        result.rate_limited = True
        attempt = J.rate_limit_streak(url, COMPANY_JOBS) + 1
        meta.update(
            rate_limit_hit=True,
            retry_attempt=attempt,
            retry_after_seconds=J.retry_after_for(attempt),
            rate_limit_attempts=error.attempts,
        )
    if error is not None:
        result.error = mask_secrets(str(error), (token,))
        meta["error_kind"] = error.kind
    meta.update(
        skipped_urls=result.pages_skipped, duration_seconds=round(time.monotonic() - started, 3)
    )
    J.update_job(
        url,
        job,
        jobs=COMPANY_JOBS,
        status=result.status,
        profiles_completed=result.pages_checked,
        profiles_skipped=len(result.pages_skipped),
        items_received=len(checks),
        items_landed=len(checks),
        error_message=result.error,
        metadata=meta,
        run_completed_at=checked_at,
    )


def _warehouse_url() -> str:
    from outreach.warehouse import database_url

    return database_url()
