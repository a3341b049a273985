"""Constants of the Apify LinkedIn loader: endpoints, defaults, names, retry policy."""

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

# Apify API v2
RUNS_PATH = "/v2/acts/{actor_id}/runs"
RUN_PATH = "/v2/actor-runs/{run_id}"
ABORT_PATH = "/v2/actor-runs/{run_id}/abort"
ITEMS_PATH = "/v2/datasets/{dataset_id}/items"
PAGE_SIZE = 1000  # dataset items per request
RUN_TERMINAL_STATUSES = ("SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED")
RUN_ACTIVE_STATUSES = ("READY", "RUNNING", "TIMING-OUT", "ABORTING")

# HTTP behaviour (tests pass smaller values)
HTTP_TIMEOUT_S = 30.0  # read/write/pool timeout of one request
HTTP_CONNECT_TIMEOUT_S = 10.0
POLL_INTERVAL_S = 5.0  # between run-status polls
MAX_ATTEMPTS = 6  # per request, for 429 / 5xx / transport errors
BACKOFF_BASE_S = 2.0  # first backoff; doubles per attempt
BACKOFF_MAX_S = 60.0  # cap of one backoff
BACKOFF_JITTER = 0.5  # +- fraction of the backoff, random

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

# rows per arrow table handed to dlt, and per load file (load files are COPYed in parallel)
ARROW_BATCH_ROWS = 10_000
LOAD_FILE_ROWS = 10_000
