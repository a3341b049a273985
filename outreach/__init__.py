"""outreach-warehouse: an open ELT warehouse for B2B outreach data.

Nothing may phone home (the network is the package registries and 127.0.0.1 only), and no
module changes the environment, dlt's config or logging when imported. Telemetry is off in
one place per tool: dlt's in ``.dlt/config.toml``, dbt's in the environment of every dbt
process (``outreach.dbt.dbt_env``, also what ``outreach env`` exports), Dagster's in
``$DAGSTER_HOME/dagster.yaml``.
"""

__version__ = "0.1.0"
