"""Test-mode stand-in for an Apify LinkedIn *company* actor: the Apify API v2 server of
``testing.apify`` (runs, waitForFinish, dataset pages, 429s and other faults) serving
company items in the documented output of ``fraktalapi/linkedin-company-scraper``
(tests/fixtures/apify/company_fraktalapi.json: ``name``, ``industry``, ``description``,
``companySize``, ``location``, ``employeeCount``, ``website``, ``url``, ``scrapedAt``; input
``companyUrls``).

``pages`` maps a LinkedIn company URL to the fields to serve (name, industry,
employeeCount, website); unknown URLs get deterministic values from their slug. Change
``pages`` between runs to plant a headcount or profile change.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

from testing.apify import ApifyTestServer

INDUSTRIES = ("Software Development", "Financial Services", "Retail", "Manufacturing")


def _slug(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


class CompanyActorTestServer(ApifyTestServer):
    def __init__(self, pages: dict[str, dict[str, Any]] | None = None, **options: Any):
        super().__init__(**options)
        self.pages: dict[str, dict[str, Any]] = dict(pages or {})

    def item(self, url: str, month: int | None = None, *, index: int = 0) -> dict[str, Any]:
        slug = _slug(url)
        seed = zlib.crc32(slug.encode())
        page = {
            "name": slug.replace("-", " ").title(),
            "industry": INDUSTRIES[seed % len(INDUSTRIES)],
            "employeeCount": 20 + seed % 500,
            "website": f"https://{slug}.com",
            **self.pages.get(url, {}),
        }
        count = page["employeeCount"]
        size = (
            "1-10"
            if count <= 10
            else "11-50"
            if count <= 50
            else "51-200"
            if count <= 200
            else "201-500"
            if count <= 500
            else "501-1,000"
        )
        return {
            "name": page["name"],
            "industry": page["industry"],
            "description": f"{page['name']} on LinkedIn",
            "companySize": f"{size} employees",
            "location": "Prague",
            "employeeCount": count,
            "website": page["website"],
            "url": url,
            "scrapedAt": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
