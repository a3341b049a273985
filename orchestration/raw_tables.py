"""Who owns which raw tables: every module with ``ensure_raw_tables(database_url) -> bool``
that creates its tables empty, so dbt never meets a missing source table.

The base (``outreach.raw.ensure_all_raw_tables``) runs them but cannot know them: they live
in the loaders and the exports, above it. This layer knows both, so the list is here, used
by the Dagster dbt asset and by the CLI's and demo's dbt runs (``app.dbt.run_dbt``). A new
loader adds itself here. No Dagster import: ``outreach dbt`` stays light.
"""

from __future__ import annotations

from outreach.raw import EnsureRawTables


def raw_table_owners() -> list[tuple[str, EnsureRawTables]]:
    """``(name, ensure_raw_tables)`` of every raw table owner (imported on call: the loaders
    pull in dlt)."""
    from exports import outbox
    from loaders.apify_linkedin import run as apify_linkedin
    from loaders.email_events import run as email_events
    from loaders.intake import run as intake
    from loaders.linkedin_ads import run as linkedin_ads
    from loaders.millionverifier import run as millionverifier
    from loaders.openoutreach import run as openoutreach
    from outreach import campaigns, events, tombstones, url_checks

    return [
        ("intake", intake.ensure_raw_tables),
        ("apify_linkedin", apify_linkedin.ensure_raw_tables),
        ("millionverifier", millionverifier.ensure_raw_tables),
        ("url_checks", url_checks.ensure_raw_tables),  # raw_ops.url_checks
        ("linkedin_ads", linkedin_ads.ensure_raw_tables),
        ("openoutreach", openoutreach.ensure_raw_tables),  # raw_openoutreach.crm_*
        ("outbox", outbox.ensure_raw_tables),  # raw_ops.deliveries, delivery_dead_letters
        ("events", events.ensure_raw_tables),  # raw_ops.pipeline_events / pipeline_errors
        ("tombstones", tombstones.ensure_raw_tables),  # raw_ops.gdpr_tombstones
        ("campaigns", campaigns.ensure_raw_tables),  # raw_campaigns.*
        ("email_events", email_events.ensure_raw_tables),  # raw_events.*
    ]
