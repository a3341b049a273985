"""A/B test declarations: ``raw_campaigns.ab_tests`` (app-owned, append-only).

A test is declared before its results exist: the campaign (and step), the two variants as
the sends carry them (custom arg / message tag ``variant``), the primary metric (reply by
default), the minimum sample per arm and alpha. dbt's ``marketing.ab_tests`` and
``marketing.performance_metrics`` count only sends made at or after the declaration (and
before ``end_at``), so a test cannot be declared after peeking at its results. Declared
from the CLI (``outreach campaign ab-test``) or a JSON file of such declarations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path

import psycopg

from outreach import campaigns

METRICS = ("reply", "open", "click", "meeting")


@dataclass(frozen=True)
class Declaration:
    test_name: str
    campaign: str  # name or id
    variant_a: str
    variant_b: str
    min_sample_per_arm: int
    primary_metric: str = "reply"
    alpha: float = 0.05
    campaign_step: str | None = None
    expected_share_a: float = 0.5
    start_at: datetime | None = None
    end_at: datetime | None = None

    def check(self, where: str) -> None:
        def bad(field: str, expected: str) -> campaigns.CampaignError:
            value = getattr(self, field)
            return campaigns.CampaignError(f"{where}: {field} {value!r}: expected {expected}")

        if not self.test_name.strip():
            raise bad("test_name", "a name")
        if self.primary_metric not in METRICS:
            raise bad("primary_metric", f"one of {', '.join(METRICS)}")
        if self.variant_a == self.variant_b or not self.variant_a or not self.variant_b:
            raise bad("variant_b", "two different variant names")
        if int(self.min_sample_per_arm) < 1:
            raise bad("min_sample_per_arm", "a positive number of sends per arm")
        if not 0 < float(self.alpha) < 1:
            raise bad("alpha", "a significance level between 0 and 1, e.g. 0.05")
        if not 0 < float(self.expected_share_a) < 1:
            raise bad("expected_share_a", "the share of sends planned for variant A, e.g. 0.5")


def declare(
    conn: psycopg.Connection,
    d: Declaration,
    source: str,
    where: str = "ab-test",
    now: datetime | None = None,
) -> bool:
    """Record a declaration (declared ``now``, default the database's clock); False if a
    test of that name exists already (declarations are never changed: declare a new test
    instead)."""
    d.check(where)
    cid = campaigns.campaign_id(conn, d.campaign)
    cur = conn.execute(
        f"insert into {campaigns.SCHEMA}.ab_tests (test_name, campaign_id, campaign_step,"
        " variant_a, variant_b, primary_metric, min_sample_per_arm, alpha, expected_share_a,"
        " start_at, end_at, source, declared_at)"
        " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()))"
        " on conflict (test_name) do nothing",
        (
            d.test_name.strip(),
            cid,
            d.campaign_step,
            d.variant_a,
            d.variant_b,
            d.primary_metric,
            int(d.min_sample_per_arm),
            d.alpha,
            d.expected_share_a,
            d.start_at,
            d.end_at,
            source,
            now,
        ),
    )
    return cur.rowcount == 1


def read_file(path: str | Path) -> list[Declaration]:
    """Declarations from a JSON file (a list of objects with Declaration's fields); a bad
    entry names its index and field."""
    names = {f.name for f in fields(Declaration)}
    try:
        items = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise campaigns.CampaignError(f"{path}: {exc}") from exc
    if not isinstance(items, list):
        raise campaigns.CampaignError(f"{path}: expected a JSON list of test declarations")
    out = []
    for i, item in enumerate(items):
        where = f"{path} entry {i}"
        if not isinstance(item, dict):
            raise campaigns.CampaignError(f"{where}: expected an object")
        unknown = set(item) - names
        if unknown:
            raise campaigns.CampaignError(f"{where}: unknown field(s) {sorted(unknown)}")
        try:
            d = Declaration(**item)
        except TypeError as exc:
            raise campaigns.CampaignError(f"{where}: {exc}") from exc
        d.check(where)
        out.append(d)
    return out
