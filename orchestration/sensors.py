"""Sensors.

None yet. Planned: a run-status sensor that posts failed runs to ``ALERT_WEBHOOK_URL``,
and sensors on the outbox marts that trigger the PLE enqueue and KPI alert exports.
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.ads import ads_sensors
from orchestration.assets.apify import linkedin_refresh_rate_limit_retry

# LinkedIn Ads: KPI models + alert step right after each load (orchestration/assets/ads.py)
sensors: list[dg.SensorDefinition] = [
    linkedin_refresh_rate_limit_retry,
    *ads_sensors,
]
