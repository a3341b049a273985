"""Asset groups by domain, and the owner of every asset.

The global lineage reads left to right because groups follow the flow of the data:
``DOMAINS`` is that order, and no asset sits in a domain left of one it depends on. A
dbt node's domain is the one its folder or name points to (``_hint``), moved right to the
domain of its furthest-right parent when a parent lies further right: ``int_company_urls``
reads website checks (intake), ``people_intelligence`` reads profile refreshes
(linkedin_refresh), ``contact_verification`` reads MillionVerifier answers
(email_verification). Seeds sit in the leftmost domain of the models that read them. So
the group graph has no cycle by construction; tests/test_dagster_definitions.py checks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# left to right
DOMAINS = (
    "intake",
    "linkedin_refresh",
    "email_verification",
    "ads",
    "ops",
    "campaigns",
    "exports",
)
INTAKE, LINKEDIN_REFRESH, EMAIL_VERIFICATION, ADS, OPS, CAMPAIGNS, EXPORTS = DOMAINS

OWNER = "team:data-platform"  # every asset's owner (definitions.py applies it)

_ORDER = {name: i for i, name in enumerate(DOMAINS)}

# raw schemas (dbt sources = loader assets) -> domain
_RAW_SCHEMAS = {
    "raw_intake": INTAKE,
    "raw_apify": LINKEDIN_REFRESH,
    "raw_verifier": EMAIL_VERIFICATION,
    "raw_linkedin_ads": ADS,
    "raw_ops": OPS,
    "raw_campaigns": CAMPAIGNS,  # campaigns, membership log, suppressions, messages
    "raw_events": CAMPAIGNS,  # email and booking webhooks (outreach serve)
    "raw_openoutreach": CAMPAIGNS,  # OpenOutreach's CRM: the LinkedIn connection funnel
}
# raw_ops tables that belong to another domain: website/news/LinkedIn page checks of the
# companies in the intake list
_RAW_TABLES = {("raw_ops", "url_checks"): INTAKE}

# model folders (fqn without project and name) -> domain
_FOLDERS = {
    ("staging", "intake"): INTAKE,
    ("staging", "apify"): LINKEDIN_REFRESH,
    ("staging", "millionverifier"): EMAIL_VERIFICATION,
    ("staging", "linkedin_ads"): ADS,
    ("intermediate", "ads"): ADS,
    ("marts", "marketing", "ads"): ADS,
    ("staging", "ops"): OPS,
    ("intermediate", "ops"): OPS,
    ("marts", "marketing", "ops"): OPS,
    ("marts", "bit"): CAMPAIGNS,
    ("staging", "campaigns"): CAMPAIGNS,
    ("staging", "events"): CAMPAIGNS,
    ("marts", "marketing", "campaigns"): CAMPAIGNS,
    ("staging", "openoutreach"): CAMPAIGNS,
    ("intermediate", "linkedin_funnel"): CAMPAIGNS,
    ("marts", "marketing", "linkedin_funnel"): CAMPAIGNS,
}
# name fragments -> domain, for models in shared folders (intermediate/, marts/<schema>/)
_NAMES = (
    ("renewal", CAMPAIGNS),
    ("signal", CAMPAIGNS),
    ("campaign", CAMPAIGNS),
    ("suppression", CAMPAIGNS),
    ("outbox", EXPORTS),
)


def source_domain(props: Mapping[str, Any]) -> str:
    """Domain of a dbt source (a raw table): its schema's, or its table's exception."""
    table = props.get("identifier") or props["name"]
    return _RAW_TABLES.get((props["schema"], table)) or _RAW_SCHEMAS.get(props["schema"], OPS)


def _hint(props: Mapping[str, Any]) -> str:
    """The domain a node's folder (or, in a shared folder, its name) points to."""
    if props["resource_type"] == "source":
        return source_domain(props)
    if "url_checks" in props["name"]:
        return INTAKE  # website/news/LinkedIn page checks of the intake companies
    folders = tuple(props.get("fqn", [])[1:-1])
    for length in range(len(folders), 0, -1):
        if folders[:length] in _FOLDERS:
            return _FOLDERS[folders[:length]]
    return next((domain for fragment, domain in _NAMES if fragment in props["name"]), INTAKE)


def dbt_domains(manifest: Mapping[str, Any]) -> dict[str, str]:
    """unique_id -> domain for every model, seed, snapshot and source of the manifest."""
    nodes = {
        uid: props
        for uid, props in {**manifest["nodes"], **manifest["sources"]}.items()
        if props["resource_type"] in {"model", "seed", "snapshot", "source"}
    }
    domains: dict[str, int] = {}

    def resolve(uid: str, stack: frozenset[str] = frozenset()) -> int:
        if uid in domains:
            return domains[uid]
        props = nodes[uid]
        level = _ORDER[_hint(props)] if props["resource_type"] != "seed" else 0
        for parent in props.get("depends_on", {}).get("nodes", []):
            if parent in nodes and parent not in stack and nodes[parent]["resource_type"] != "seed":
                level = max(level, resolve(parent, stack | {uid}))
        domains[uid] = level
        return level

    for uid in nodes:
        resolve(uid)
    # seeds: the leftmost domain of the models that read them (0 if none)
    for uid, props in nodes.items():
        if props["resource_type"] == "seed":
            children = [c for c in manifest.get("child_map", {}).get(uid, []) if c in domains]
            domains[uid] = min((domains[c] for c in children), default=0)
    return {uid: DOMAINS[level] for uid, level in domains.items()}
