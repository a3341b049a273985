"""Front door of the company-pages checks: ``check_company_pages``.

Reads the company URL queue (``company.next_company_urls_30d``; every company URL with
``all_urls``), checks the website and news URLs over HTTP (``checker.check_pages``) and
records one row per check in ``raw_ops.url_checks`` (``outreach.url_checks``), which takes
the URL off the queue at once and drives ``company.company.last_site_checked_at`` /
``last_news_checked_at`` at the next build. LinkedIn company pages are not checked here.

``OUTREACH_TEST_MODE=true`` (and no transport given) sends every company host to the local
sites server (``testing.company_sites``, started for the call) through ``HostsTransport``:
nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg

from loaders.company_pages import settings as s
from loaders.company_pages.checker import PageCheck, Target, check_pages
from outreach.events import OperatorError, recorded
from outreach.settings import load_settings
from outreach.url_checks import record_url_checks

Progress = Callable[[str], Any]
Clock = Callable[[], datetime]
QUEUE = "company.next_company_urls_30d"
COMPANIES = "company.company"
BATCH = 1000  # checks recorded per batch (a crash loses at most one batch of work)


class CompanyPagesError(OperatorError):
    """The checks cannot start (no company queue yet, bad argument)."""


@dataclass
class CheckResult:
    urls_due: int = 0
    checks_recorded: int = 0
    by_outcome: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(n for o, n in self.by_outcome.items() if o in s.FAILING_OUTCOMES)

    def as_dict(self) -> dict[str, Any]:
        return {
            "urls_due": self.urls_due,
            "checks_recorded": self.checks_recorded,
            "failing": self.failed,
            "by_outcome": dict(sorted(self.by_outcome.items())),
            "seconds": round(self.seconds, 3),
        }

    def render(self) -> str:
        outcomes = ", ".join(f"{o} {n}" for o, n in sorted(self.by_outcome.items())) or "none"
        return (
            f"{self.urls_due} company URLs checked in {self.seconds:.1f}s "
            f"({self.checks_recorded} checks recorded): {outcomes}"
        )


def due_targets(database_url: str, *, all_urls: bool = False) -> list[Target]:
    """Website and news URLs of the company queue (every company's with ``all_urls``),
    never-checked first, then the stalest."""
    types = list(s.URL_TYPES)
    with psycopg.connect(database_url) as conn:
        relation = COMPANIES if all_urls else QUEUE
        if conn.execute("select to_regclass(%s)", (relation,)).fetchone()[0] is None:
            raise CompanyPagesError(
                f"{relation} does not exist yet: build the warehouse first (outreach dbt build)"
            )
        if all_urls:
            rows = conn.execute(
                """
                select company_id, url_type, url from (
                    select company_id, 'website' as url_type, website_url as url
                    from company.company
                    union all
                    select company_id, 'news', news_url from company.company
                ) as urls
                where url is not null and url_type = any(%s)
                order by company_id, url_type
                """,
                (types,),
            ).fetchall()
        else:
            rows = conn.execute(
                f"""
                select company_id, url_type, url from {QUEUE}
                where url_type = any(%s)
                order by last_checked_at nulls first, company_id, url_type
                """,
                (types,),
            ).fetchall()
    return [Target(url=url, url_type=kind, company_id=cid) for cid, kind, url in rows]


def _as_check(result: PageCheck, checked_at: datetime) -> dict[str, Any]:
    return {
        "url_type": result.url_type,
        "url": result.url,
        "company_id": result.company_id,
        "checked_at": checked_at,
        "checker": s.CHECKER,
        "http_status": result.http_status,
        "outcome": result.outcome,
        "detail": result.detail(),
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _test_mode_transport(progress: Progress):
    from testing.company_sites import CompanySitesServer, Site

    server = CompanySitesServer(default=Site(kind="ok"))
    server.start()
    progress(
        f"test mode: every company host answers from the local sites server on port {server.port}"
    )
    return server, server.transport()


@recorded("load.company_pages")
def check_company_pages(
    *,
    all_urls: bool = False,
    database_url: str | None = None,
    progress: Progress = print,
    clock: Clock = _now,
    transport: httpx.AsyncBaseTransport | None = None,
    targets: list[Target] | None = None,
    **checker_options: Any,
) -> CheckResult:
    """Check the due website/news URLs and record the checks (see the module doc).
    ``clock`` stamps the checks (tests and the demo move it); ``targets`` checks exactly
    those; ``checker_options`` go to ``PageChecker`` (concurrency, timeouts, deadline,
    size cap, redirect limit)."""
    started = time.monotonic()
    url = database_url or _warehouse_url()
    due = targets if targets is not None else due_targets(url, all_urls=all_urls)
    result = CheckResult(urls_due=len(due))
    progress(f"{len(due)} company website/news URLs due" + (" (--all)" if all_urls else ""))
    server = None
    if transport is None and load_settings().test_mode and due:
        server, transport = _test_mode_transport(progress)
    try:
        for start in range(0, len(due), BATCH):
            batch = due[start : start + BATCH]
            checks = check_pages(batch, transport=transport, **checker_options)
            checked_at = clock()
            result.by_outcome.update(c.outcome for c in checks)
            result.checks_recorded += record_url_checks(
                url, [_as_check(c, checked_at) for c in checks]
            )
            progress(f"  checked {start + len(batch)}/{len(due)} URLs")
            transport = _fresh(transport)
    finally:
        if server is not None:
            server.stop()
    result.seconds = time.monotonic() - started
    progress(result.render())
    return result


def _fresh(transport: httpx.AsyncBaseTransport | None):
    """A transport for the next batch (each batch's client closes the one it used)."""
    from loaders.company_pages.checker import HostsTransport

    if isinstance(transport, HostsTransport):
        return HostsTransport(
            transport.hosts, tls_hosts=transport.tls_hosts, default=transport.default
        )
    return transport


def _warehouse_url() -> str:
    from outreach.warehouse import database_url

    return database_url()


def last_check_at(database_url: str) -> datetime | None:
    """The newest check recorded by this checker (None: never) - the freshness check."""
    with psycopg.connect(database_url) as conn:
        if conn.execute("select to_regclass('raw_ops.url_checks')").fetchone()[0] is None:
            return None
        return conn.execute(
            "select max(checked_at) from raw_ops.url_checks where checker = %s", (s.CHECKER,)
        ).fetchone()[0]
