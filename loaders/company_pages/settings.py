"""Constants of the company-pages checker: limits, timeouts, names."""

from __future__ import annotations

CHECKER = "company-pages"  # raw_ops.url_checks.checker of the website / news checks
USER_AGENT = "outreach-warehouse-company-pages/1.0 (+https://github.com/outreach-warehouse)"
URL_TYPES = ("website", "news")  # the URL types checked over HTTP (linkedin: Apify)

CONCURRENCY = 32  # checks in flight at once (each host still gets one request at a time)
CONNECT_TIMEOUT_S = 5.0  # TCP + TLS handshake
READ_TIMEOUT_S = 10.0  # between two reads
REQUEST_DEADLINE_S = 20.0  # one request, headers and body, whatever the host trickles
MAX_BYTES = 2_000_000  # body size cap while streaming (a larger page is too_large)
MAX_REDIRECTS = 10  # hops followed before too_many_redirects
TITLE_SCAN_BYTES = 65_536  # the <title> is looked for in this much of an HTML body

# outcomes recorded in raw_ops.url_checks.outcome
OK = "ok"
NOT_HTML = "not_html"  # a 2xx answer that is no HTML page (recorded, not a failure)
FAILING_OUTCOMES = (
    "http_error",  # a 4xx / 5xx final answer (http_status says which)
    "dns_error",
    "tls_error",
    "connect_error",
    "timeout",
    "too_large",
    "redirect_loop",
    "too_many_redirects",
    "invalid_url",
)
ROBOTS_DISALLOWED = "robots_disallowed"  # not fetched: robots.txt forbids it (no verdict)
OUTCOMES = (OK, NOT_HTML, ROBOTS_DISALLOWED, *FAILING_OUTCOMES)
