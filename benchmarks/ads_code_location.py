"""A Dagster code location with the LinkedIn Ads flow only, for bench_ads_alert_latency.py:
the dbt assets, the ads load asset, the alert step, ``linkedin_ads_job``, ``ads_kpi_job``,
their schedules and the ``linkedin_ads_kpi_trigger`` sensor - the very objects
``orchestration/definitions.py`` registers, without the other loaders' assets (so the
benchmark measures this flow even while the full code location does not load).

    dagster dev -f benchmarks/ads_code_location.py
"""

import dagster as dg

from orchestration.assets.ads import ads_assets, ads_schedules, ads_sensors
from orchestration.assets.dbt import outreach_dbt_assets
from orchestration.resources import build_resources

defs = dg.Definitions(
    assets=[outreach_dbt_assets, *ads_assets],
    resources=build_resources(),
    schedules=ads_schedules,
    sensors=ads_sensors,
)
