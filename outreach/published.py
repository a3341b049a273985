"""The published relations: every dbt node the manifest places in a published schema.

One source of truth for "what BI tools and the PLE may query": the published schemas
(``outreach.security.PUBLISHED_SCHEMAS``, the ones ``outreach_reader`` may read) and the
dbt manifest (which node writes which relation there, as a table or a view). Nothing
published ever vanishes: docs/decisions.md says how builds keep that promise.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from outreach.security import PUBLISHED_SCHEMAS

BUILT_RESOURCE_TYPES = {"model", "seed", "snapshot"}


class Relation(NamedTuple):
    schema: str
    name: str
    materialized: str
    unique_id: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}"


def load_manifest(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def built_relations(manifest: Mapping[str, Any]) -> list[Relation]:
    """Every relation a ``dbt build`` of the whole project leaves in the warehouse."""
    out = []
    for unique_id, node in manifest["nodes"].items():
        materialized = node["config"].get("materialized")
        if node["resource_type"] in BUILT_RESOURCE_TYPES and materialized != "ephemeral":
            name = node.get("alias") or node["name"]
            out.append(Relation(node["schema"], name, materialized, unique_id))
    return sorted(out)


def published_relations(manifest: Mapping[str, Any]) -> list[Relation]:
    """The public contract: the built relations in the published schemas."""
    return [r for r in built_relations(manifest) if r.schema in PUBLISHED_SCHEMAS]
