"""Schedules.

Intake files arrive by hand (run ``intake_and_build`` from the UI or
``outreach load intake``). The vendor loaders add theirs here as they land, e.g. a daily
Apify LinkedIn refresh, the LinkedIn Ads pull with its restatement lookback; each as a
``ScheduleDefinition`` over a job. ``verify_emails_daily`` runs the MillionVerifier
recheck queue (job ``verify_emails_and_build``, defined with its assets).
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.ads import ads_schedules
from orchestration.assets.apify import linkedin_refresh_monthly
from orchestration.assets.company_pages import company_pages_weekly
from orchestration.assets.verifier import verify_emails_and_build

# Daily: the email queue holds addresses never checked or not in 30 days, so a daily run
# keeps every address at most ~31 days old while spreading the credits over the month.
verify_emails_daily = dg.ScheduleDefinition(
    name="verify_emails_daily",
    job=verify_emails_and_build,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    description="Daily 06:00 UTC: verify the due emails (MillionVerifier), then rebuild what "
    "depends on them (contact_verification, the email queue, slots, renewals, signals).",
)

# LinkedIn Ads: every 6 hours (load, KPIs, alerts) and the 00:00 UTC KPI/alert backup
schedules: list[dg.ScheduleDefinition] = [
    linkedin_refresh_monthly,
    verify_emails_daily,
    company_pages_weekly,
    *ads_schedules,
]
