"""Constants of the MillionVerifier loader: endpoints, defaults, names, retries."""

from __future__ import annotations

PIPELINE_NAME = "millionverifier"
SOURCE_NAME = "millionverifier"
DATASET_NAME = "raw_verifier"  # the raw schema (dlt dataset)
CHECKS_TABLE = "email_checks"  # one row per verification answer (dlt)
RUNS_TABLE = "verification_runs"  # one row per run (psycopg upserts)

# MillionVerifier API v3 (single) and bulk API v2. The bulk API lives on its own host;
# a MILLIONVERIFIER_BASE_URL other than the public one (a proxy, the test-mode server)
# serves both.
PUBLIC_BASE_URL = "https://api.millionverifier.com"
PUBLIC_BULK_BASE_URL = "https://bulkapi.millionverifier.com"
VERIFY_PATH = "/api/v3/"
CREDITS_PATH = "/api/v3/credits"
BULK_UPLOAD_PATH = "/bulkapi/v2/upload"
BULK_FILEINFO_PATH = "/bulkapi/v2/fileinfo"
BULK_DOWNLOAD_PATH = "/bulkapi/v2/download"

# bulk file statuses: in progress until "finished"; these end a file without results
BULK_FAILED_STATUSES = ("error", "canceled", "cancelled")

# Defaults (each is an argument of verify_emails / a CLI flag)
DEFAULT_CONCURRENCY = 10  # requests in flight
API_TIMEOUT_S = 20  # the API's own `timeout` parameter (2..60 s): how long it may try
HTTP_TIMEOUT_MARGIN_S = 10.0  # our read timeout = API_TIMEOUT_S + this
HTTP_CONNECT_TIMEOUT_S = 10.0
BULK_THRESHOLD = 5000  # more emails than this in one run: the bulk file API
BULK_POLL_INTERVAL_S = 10.0
BULK_TIMEOUT_S = 4 * 3600.0  # from upload to "finished"
LAND_BATCH = 2000  # answers landed per dlt load (a crash loses at most one batch)

# Retries of one request by dlt's requests Client: 429, 5xx, timeouts, transport errors
MAX_ATTEMPTS = 5
BACKOFF_FACTOR = 1.0  # waits 1, 2, 4, 8 s (or the Retry-After the server sent)
BACKOFF_MAX_S = 30.0

# API key used against the local test-mode server when MILLIONVERIFIER_API_KEY is unset
TEST_MODE_API_KEY = "mv_test_mode_key"

# Run statuses (raw_verifier.verification_runs.status)
RUN_RUNNING = "running"
RUN_COMPLETED = "completed"  # every email got an answer
RUN_PARTIAL = "partial"  # some emails got no answer (retries exhausted); they stay due
RUN_CREDITS_EXHAUSTED = "credits_exhausted"  # stopped: no credits left
RUN_FAILED = "failed"  # stopped: bad key, bulk file failed, ...
