"""The Dagster code location: load with ``dagster dev -m orchestration.definitions``."""
