"""outreach-warehouse: an open ELT warehouse for B2B outreach data."""

import os as _os

__version__ = "0.1.0"

# Nothing here may phone home: the network is the package registries and 127.0.0.1 only.
# (dbt usage stats, dlt telemetry; Dagster's is switched off in $DAGSTER_HOME/dagster.yaml.)
NO_TELEMETRY = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "DO_NOT_TRACK": "1",
}
for _key, _value in NO_TELEMETRY.items():
    _os.environ.setdefault(_key, _value)
