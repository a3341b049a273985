"""`outreach demo`'s company-pages step: drain the company queue against local sites.

Every demo company host answers from the local sites server (testing/company_sites.py);
a few are planted to show the failure kinds (a move to another domain, a 404, a redirect
loop, a PDF, a hanging host). LinkedIn company pages come from the Apify company-actor
stand-in. Then the models the checks change are built, and the queue is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

PLANTED = ("redirect", "not_found", "loop", "pdf", "hang")


def run_company_pages_demo(
    url: str, *, build: Callable[[list[str]], bool], progress: Callable[[str], Any]
) -> list[str] | None:
    from loaders.company_pages.checker import HostsTransport
    from loaders.company_pages.linkedin import refresh_company_pages
    from loaders.company_pages.run import check_company_pages, due_targets
    from testing.apify_companies import CompanyActorTestServer
    from testing.company_sites import CompanySitesServer, Site

    websites = [t for t in due_targets(url) if t.url_type == "website"]
    hosts = []
    for target in websites[: len(PLANTED)]:
        start = target.url if "://" in target.url else f"https://{target.url}"
        hosts.append(start.split("/")[2].lower())
    sites = {
        host: Site(kind=kind, target="https://www.acquirer-demo.co.uk/")
        for host, kind in zip(hosts, PLANTED, strict=False)
    }
    sites["www.acquirer-demo.co.uk"] = Site(kind="ok", title="Acquirer (demo)")
    with CompanySitesServer(sites, default=Site(kind="ok")) as server:
        transport = HostsTransport({}, default=("127.0.0.1", server.port))
        result = check_company_pages(
            database_url=url, transport=transport, progress=progress, request_deadline_s=1.0
        )
    actor = CompanyActorTestServer(token="demo")
    actor.start()
    try:
        linkedin = refresh_company_pages(
            database_url=url, endpoint=(actor.base_url, "demo"), progress=progress
        )
    finally:
        actor.stop()
    if not result.checks_recorded or linkedin.status == "failed":
        return None
    if not build(["build", "--select", "source:ops.url_checks+"]):
        return None
    with psycopg.connect(url) as conn:
        due = conn.execute("select count(*) from company.next_company_urls_30d").fetchone()[0]
        states = conn.execute(
            "select website_state, count(*) from company.website_health group by 1 order by 2 desc"
        ).fetchall()
        signals = conn.execute(
            "select reason, count(*) from bit.signal where reason in ('website_down', "
            "'domain_changed', 'headcount_change', 'company_profile_changed') group by 1"
        ).fetchall()
    return [
        f"company.next_company_urls_30d: {due} URLs due (the queue is drained)",
        "website states: " + ", ".join(f"{s} {n}" for s, n in states),
        "company signals: " + (", ".join(f"{r} {n}" for r, n in signals) or "none yet"),
    ]
