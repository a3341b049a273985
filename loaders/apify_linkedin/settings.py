"""Constants of the Apify LinkedIn loader: defaults, names, the official client's settings."""

from __future__ import annotations

PIPELINE_NAME = "apify_linkedin"
SOURCE_NAME = "apify_linkedin"
DATASET_NAME = "raw_apify"  # the raw schema (dlt dataset)
ITEMS_TABLE = "profile_items"
JOBS_TABLE = "refresh_jobs"
JOB_SEQUENCE = "refresh_job_seq"

# Barton entity code of a refresh job: 04.04.06.XX.NNNNN.NNN
JOB_KIND = "06"
JOB_ID_PATTERN = r"^04\.04\.06\.[0-9]{2}\.[0-9]{5}\.[0-9]{3}$"

DEFAULT_ACTOR_ID = "apify~linkedin-profile-scraper"
DEFAULT_MAX_PROFILES = 2000  # profiles per actor run
DEFAULT_TIMEOUT_S = 600.0  # from start of the actor run to a terminal status
DEFAULT_INPUT_KEY = "profileUrls"  # actor input field that takes the profile URLs
STALE_AFTER_DAYS = 30  # a profile is due when its last observation is older than this

# Apify API v2 (through the official apify-client)
PAGE_SIZE = 1000  # dataset items asked for per request (the API may answer with fewer)
RUN_TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED")

# The official client's behaviour (tests pass smaller values)
HTTP_TIMEOUT_S = 30.0  # one request
MAX_RETRIES = 5  # per request, for 429 / 5xx / network errors (6 attempts in all)
MIN_RETRY_DELAY_S = 2.0  # first backoff; doubles per retry, times a random 1-2
MAX_WAIT_FOR_FINISH_S = 60  # the API holds a waitForFinish poll at most this long

# The orchestrator retries the rate-limited remainder at +1 h, +6 h, +24 h.
RATE_LIMIT_RETRY_SCHEDULE_S = (3600, 6 * 3600, 24 * 3600)

# Circuit breaker: this many consecutive failed jobs open it; a successful manual run closes it.
BREAKER_FAILURES = 3

# Job triggers (metadata.trigger)
TRIGGER_MANUAL = "manual"
TRIGGER_SCHEDULED = "scheduled"
TRIGGER_RETRY = "retry"
TRIGGER_IMPORT = "import"
TRIGGERS = (TRIGGER_MANUAL, TRIGGER_SCHEDULED, TRIGGER_RETRY, TRIGGER_IMPORT)

# Token used against the local test-mode server when APIFY_TOKEN is unset
TEST_MODE_TOKEN = "apify_test_mode_token"

# rows per arrow table handed to dlt (rows per load file: file_max_items, .dlt/config.toml)
ARROW_BATCH_ROWS = 10_000

# an import prints a progress line every this many items (per pass: check, then landing)
IMPORT_PROGRESS_ITEMS = 100_000
