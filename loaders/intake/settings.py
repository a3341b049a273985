"""Constants of the intake loader: field lists, file formats, reason codes, names."""

from __future__ import annotations

PIPELINE_NAME = "intake"
SOURCE_NAME = "intake"
DATASET_NAME = "raw_intake"

# file extension -> reader
FILE_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

COMPANY = "company"
PERSON = "person"

COMPANY_TEXT_FIELDS = (
    "company_name",
    "website_url",
    "linkedin_url",
    "news_url",
    "ein",
    "address_line1",
    "address_line2",
    "city",
    "state_region",
    "postal_code",
    "country",
)
COMPANY_INT_FIELDS = ("renewal_month", "renewal_notice_window_days")
COMPANY_FIELDS = COMPANY_TEXT_FIELDS + COMPANY_INT_FIELDS

PERSON_FIELDS = (
    "full_name",
    "title",
    "email",
    "phone",
    "linkedin_url",
    "company_name",
    "company_website",
    "company_linkedin_url",
)
# the employer identities of a person, in matching precedence
EMPLOYER_FIELDS = ("company_linkedin_url", "company_website", "company_name")

FIELDS = {COMPANY: COMPANY_FIELDS, PERSON: PERSON_FIELDS}
REQUIRED = {COMPANY: ("company_name",), PERSON: ("full_name",)}

# quarantine reason codes (docs/raw_contract.md)
MISSING_REQUIRED_FIELD = "missing_required_field"
INVALID_RENEWAL_MONTH = "invalid_renewal_month"
INVALID_RENEWAL_WINDOW = "invalid_renewal_window"
INVALID_EMAIL = "invalid_email"
INVALID_URL = "invalid_url"
UNMATCHED_EMPLOYER = "unmatched_employer"
MALFORMED_ROW = "malformed_row"
REASONS = (
    MISSING_REQUIRED_FIELD,
    INVALID_RENEWAL_MONTH,
    INVALID_RENEWAL_WINDOW,
    INVALID_EMAIL,
    INVALID_URL,
    UNMATCHED_EMPLOYER,
    MALFORMED_ROW,
)

# renewal_notice_window_days above this (100 years) is a typo, not a notice window
MAX_NOTICE_WINDOW_DAYS = 36500

# dropped from the end of a normalised company name before matching
LEGAL_SUFFIXES = frozenset(
    ("inc", "incorporated", "corp", "corporation", "co", "company", "llc", "ltd", "limited")
    + ("plc", "gmbh", "ag", "sa", "sarl", "bv", "nv", "srl", "spa", "pty", "oy", "ab", "as", "kg")
)

# Patterns (RE2 syntax, run by pyarrow compute).
# an email address: strict enough to catch typos, not an RFC 5322 parser
EMAIL_RE2 = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# a website: http(s) URL or bare domain; the host has a dot and an alphabetic (or punycode)
# top-level label; optional port, path, query, fragment; no spaces
WEB_URL_RE2 = (
    r"(?i)^(?:https?://)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
    r"\.?(?::\d{1,5})?(?:[/?#]\S*)?$"
)
# the host of a website URL (after WEB_URL_RE2 matched)
HOST_RE2 = r"(?i)^(?:https?://)?(?P<host>[^/:?#\s]+)"
# LinkedIn company pages and member profiles; the slug is captured
LINKEDIN_RE2 = {
    kind: (
        r"(?i)^(?:https?://)?(?:[a-z0-9-]+\.)*linkedin\.com(?::\d{1,5})?"
        rf"/{kind}/(?P<slug>[^/?#\s]+)/?(?:[/?#]\S*)?$"
    )
    for kind in ("company", "in")
}
