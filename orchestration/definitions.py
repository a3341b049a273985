"""The Dagster code location: ``dagster dev -m orchestration.definitions`` (``outreach ui``).

Only assembles; the pieces live in ``assets/``, ``resources.py``, ``jobs.py``,
``schedules.py`` and ``sensors.py``.
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.ads import ads_assets
from orchestration.assets.apify import (
    apify_refresh_assets,
    linkedin_refresh_and_build_job,
    linkedin_refresh_job,
)
from orchestration.assets.company_pages import company_pages_and_build, company_pages_assets
from orchestration.assets.dbt import outreach_dbt_assets
from orchestration.assets.exports import exports_assets, exports_jobs
from orchestration.assets.loads import intake_assets
from orchestration.assets.openoutreach import connect_queue, openoutreach_load
from orchestration.assets.raw_ops import raw_ops_assets
from orchestration.assets.verifier import verifier_assets, verify_emails_and_build
from orchestration.domains import OWNER
from orchestration.jobs import jobs
from orchestration.resources import build_resources
from orchestration.schedules import schedules
from orchestration.sensors import sensors


def _owned(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Every asset has an owner (orchestration/domains.py OWNER) unless it names its own."""
    return spec if spec.owners else spec.replace_attributes(owners=[OWNER])


defs = dg.Definitions(
    assets=dg.map_asset_specs(
        _owned,
        [
            intake_assets,
            apify_refresh_assets,
            outreach_dbt_assets,
            verifier_assets,
            company_pages_assets,
            *ads_assets,
            *exports_assets,
            *raw_ops_assets,
            openoutreach_load,
            connect_queue,
        ],
    ),
    # dbt tests come as checks inside outreach_dbt_assets (source tests: on raw_intake/*)
    asset_checks=[],
    jobs=[
        *jobs,
        linkedin_refresh_job,
        linkedin_refresh_and_build_job,
        verify_emails_and_build,
        company_pages_and_build,
        *exports_jobs,
    ],
    resources=build_resources(),
    schedules=schedules,
    sensors=sensors,
)
