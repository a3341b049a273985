"""Constants of the intake loader: field lists, file formats, reason codes, names."""

from __future__ import annotations

PIPELINE_NAME = "intake"
SOURCE_NAME = "intake"
DATASET_NAME = "raw_intake"

# file extension -> reader
FILE_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

COMPANY = "company"
PERSON = "person"
DEAL = "deal"

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

# deals (issue 20, contact lifetime value): one row per deal as the CRM exported it; the
# contact by contact_id (people.contact) and/or contact_email; amounts stay text as given
# (validated here, cast in stg_intake__deals)
DEAL_FIELDS = (
    "deal_id",
    "contact_id",
    "contact_email",
    "company_name",
    "amount",
    "currency",
    "stage",
    "closed_won",
    "closed_at",
)

FIELDS = {COMPANY: COMPANY_FIELDS, PERSON: PERSON_FIELDS, DEAL: DEAL_FIELDS}

# quarantine reason codes (docs/raw_contract.md)
MISSING_REQUIRED_FIELD = "missing_required_field"
INVALID_RENEWAL_MONTH = "invalid_renewal_month"
INVALID_RENEWAL_WINDOW = "invalid_renewal_window"
INVALID_EMAIL = "invalid_email"
INVALID_URL = "invalid_url"
UNMATCHED_EMPLOYER = "unmatched_employer"
MALFORMED_ROW = "malformed_row"
VALUE_TOO_LONG = "value_too_long"
INVALID_CONTACT_ID = "invalid_contact_id"
INVALID_AMOUNT = "invalid_amount"
INVALID_CURRENCY = "invalid_currency"
INVALID_BOOLEAN = "invalid_boolean"
INVALID_DATE = "invalid_date"

# Longest value (characters, after stripping) each field may hold; a longer one quarantines
# the row (value_too_long) and is never loaded. They keep every identity key dbt builds from
# these fields well inside a btree index row (2704 bytes): a 1 MB company name once stopped
# int_company_keys and every model after it. dbt's staging models apply the same limits to
# raw rows from any other path (macro intake_max_length; tests/test_bounded_input.py checks
# that both agree). LinkedIn URLs are also refused when their canonical form is longer than
# outreach.tombstones.MAX_LINKEDIN_URL (1000).
MAX_LENGTH = {
    "company_name": 300,
    "full_name": 300,
    "title": 500,
    "email": 254,  # RFC 5321's limit for a forward path
    "phone": 50,
    "website_url": 2000,
    "news_url": 2000,
    "company_website": 2000,
    "linkedin_url": 1000,
    "company_linkedin_url": 1000,
    "ein": 50,
    "address_line1": 300,
    "address_line2": 300,
    "city": 200,
    "state_region": 200,
    "postal_code": 50,
    "country": 100,
    "renewal_month": 20,
    "renewal_notice_window_days": 20,
    "deal_id": 200,
    "contact_id": 20,
    "contact_email": 254,
    "amount": 30,
    "currency": 3,
    "stage": 100,
    "closed_won": 10,
    "closed_at": 40,
}
# in a quarantined row's raw_record, a value longer than this keeps only its beginning
QUARANTINE_VALUE_CHARS = 200
# ... and so does any other value (an unknown column, a malformed line) longer than this
MAX_EXTRA_CHARS = 10_000

# renewal_notice_window_days above this (100 years) is a typo, not a notice window
MAX_NOTICE_WINDOW_DAYS = 36500

# deals: a non-negative amount with at most 6 decimals; an ISO 4217-shaped currency code;
# closed_won as a yes/no word; closed_at an ISO 8601 date or timestamp (checked by parsing)
AMOUNT_RE2 = r"^\+?\d{1,15}(?:\.\d{1,6})?$"
CURRENCY_RE2 = r"^[A-Za-z]{3}$"
BOOLEAN_WORDS = ("true", "false", "yes", "no", "1", "0", "won", "lost")

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
