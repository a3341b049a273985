"""Sensors.

``linkedin_refresh_rate_limit_retry`` (Apify), ``linkedin_ads_kpi_trigger`` (KPI models and
the alert step right after each LinkedIn Ads load) and ``ple_outbox_trigger`` (the PLE
export each time its outbox model builds). Planned: a run-status sensor that posts failed
runs to ``ALERT_WEBHOOK_URL``.
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.ads import ads_sensors
from orchestration.assets.apify import linkedin_refresh_rate_limit_retry
from orchestration.assets.exports import exports_sensors

# LinkedIn Ads: KPI models + alert step right after each load (orchestration/assets/ads.py)
sensors: list[dg.SensorDefinition] = [
    linkedin_refresh_rate_limit_retry,
    *ads_sensors,
    *exports_sensors,
]
