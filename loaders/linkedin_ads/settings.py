"""Constants of the LinkedIn Ads loader: endpoints, API version, defaults, names, retries."""

from __future__ import annotations

PIPELINE_NAME = "linkedin_ads"
SOURCE_NAME = "linkedin_ads"
DATASET_NAME = "raw_linkedin_ads"  # the raw schema (dlt dataset)

ANALYTICS_TABLE = "campaign_analytics"
CAMPAIGNS_TABLE = "campaigns"
ACCOUNTS_TABLE = "accounts"
PULLS_TABLE = "pulls"
TABLES = (ANALYTICS_TABLE, CAMPAIGNS_TABLE, ACCOUNTS_TABLE, PULLS_TABLE)

# LinkedIn Marketing API (versioned /rest endpoints, Rest.li 2.0 protocol)
API_VERSION = "202509"  # LinkedIn-Version header (YYYYMM)
RESTLI_PROTOCOL_VERSION = "2.0.0"
ANALYTICS_PATH = "/rest/adAnalytics"
ACCOUNT_PATH = "/rest/adAccounts/{account_id}"
CAMPAIGNS_PATH = "/rest/adAccounts/{account_id}/adCampaigns"
CAMPAIGNS_PAGE_SIZE = 100  # cursor pagination (pageSize / pageToken / metadata.nextPageToken)
ANALYTICS_FIELDS = (
    "dateRange",
    "pivotValues",
    "impressions",
    "clicks",
    "costInLocalCurrency",
    "externalWebsiteConversions",
)
ACCOUNT_URN = "urn:li:sponsoredAccount:{account_id}"
CAMPAIGN_URN_PREFIX = "urn:li:sponsoredCampaign:"

# adAnalytics has no paging and answers at most this many elements; a date range that would
# exceed it is split (days per request = cap // campaigns), and a response that comes back
# exactly at the cap is split again, because LinkedIn truncates it silently.
MAX_ELEMENTS_PER_RESPONSE = 15_000
MAX_DAYS_PER_REQUEST = 92

# Incremental window: every run re-pulls the last LOOKBACK_DAYS days it already has
# (LinkedIn restates recent days: late conversions, invalid-click credits), and an account
# seen for the first time is backfilled INITIAL_DAYS days.
DEFAULT_LOOKBACK_DAYS = 7
DEFAULT_INITIAL_DAYS = 30

# costInLocalCurrency arrives as a decimal string; it lands as numeric(38, 20): 18 integer
# digits and 20 decimals, exact for every value LinkedIn sends (it prints at most 17
# significant digits). A value with more decimals is rounded half-even at the 20th and counted.
COST_PRECISION = 38
COST_SCALE = 20

# HTTP behaviour (tests pass smaller values)
HTTP_TIMEOUT_S = 60.0
HTTP_CONNECT_TIMEOUT_S = 10.0
MAX_ATTEMPTS = 6  # per request, for 429 / 5xx / transport errors
BACKOFF_BASE_S = 2.0  # first backoff; doubles per attempt (Retry-After wins when sent)
BACKOFF_MAX_S = 60.0

# Connection methods (connections config, `method:`)
METHOD_OAUTH = "oauth"  # the LinkedIn API with LINKEDIN_ACCESS_TOKEN
METHOD_TEST = "test"  # the local test-mode server (seeded, deterministic data)
METHODS = (METHOD_OAUTH, METHOD_TEST)

# Token sent to the local test-mode server when LINKEDIN_ACCESS_TOKEN is unset
TEST_MODE_TOKEN = "linkedin_ads_test_mode_token"
# Accounts the test-mode server serves when LINKEDIN_AD_ACCOUNTS is unset
TEST_MODE_ACCOUNTS = ("510000001", "510000002")

# Pull sources (pulls.source)
SOURCE_API = "api"
SOURCE_FILE = "file"

# rows per arrow table handed to dlt
ARROW_BATCH_ROWS = 50_000

# dbt selection of everything the ads flow builds (seed, staging, intermediate, marts)
DBT_SELECT = (
    "kpi_definitions path:models/staging/linkedin_ads path:models/intermediate/ads "
    "path:models/marts/marketing/ads"
)
