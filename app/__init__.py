"""The application on top of the layers: the ``outreach`` command and the demo.

Layers, top to bottom (pyproject.toml ``[tool.importlinter]``, checked by ``make lint``):
``app``; ``orchestration`` | ``testing``; ``exports``; ``loaders``; ``outreach`` (the base).
This package assembles what the layers below must not know about each other: which modules
own raw tables, and that a CLI load or dbt run is reported to Dagster afterwards.
"""
