"""Jobs: named selections of assets that operators launch from the UI (and tests run)."""

from __future__ import annotations

import dagster as dg

from orchestration.assets.dbt import outreach_dbt_assets
from orchestration.assets.loads import intake_assets

# Load the intake files (paths from run config, see IntakeFilesConfig), then `dbt build`
# every model with its tests. The dbt models depend on raw_intake/*, so the load runs first.
intake_and_build = dg.define_asset_job(
    name="intake_and_build",
    selection=dg.AssetSelection.assets(intake_assets)
    | dg.AssetSelection.assets(outreach_dbt_assets),
    description=(
        "Load the company/people intake files into raw_intake, then build every dbt model "
        "and run its tests."
    ),
)

jobs = [intake_and_build]
