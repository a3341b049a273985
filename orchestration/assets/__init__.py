"""Assets grouped by integration: ``loads`` (dlt loaders), ``dbt`` (the dbt project)."""
