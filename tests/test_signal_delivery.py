"""bit.signal.processed_at in real use: a signal delivered through the real outbox sets it.

Real PostgreSQL, real dbt builds, real HTTP on 127.0.0.1: intake plus an exported LinkedIn
dataset (what ``outreach load apify-linkedin --from-file`` does) give executive movements,
hence ``executive_movement`` signals and PLE enqueue messages; ``exports.ple.deliver_ple``
POSTs the messages to a local receiver (testing/receiver.py) that refuses one; the next
build of ``bit.signal`` shows processed_at = the delivery time in raw_ops.deliveries for the
delivered ones only. Renewal signals are in no outbox: theirs stays null.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from app.dbt import run_dbt
from exports.ple import deliver_ple
from loaders.apify_linkedin.run import import_dataset
from loaders.intake.run import load_intake_files
from testing.receiver import WebhookReceiver

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures" / "change_detection"
SECRET = "whsec-signal-test-4d2e"
FAST = {"backoff_base_s": 0.0, "backoff_max_s": 0.0, "timeout_s": 5.0}
# the models under test and what they need; their tests run in the build after delivery
BUILD = [
    "build",
    "--select",
    "+signal +ple_enqueue_outbox",
    "--exclude-resource-type",
    "test",
    "--exclude-resource-type",
    "unit_test",
]


def quiet(_line: str) -> None:
    pass


def q(url: str, sql: str, *params) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or None).fetchall()


def dbt(url: str, args: list[str]) -> None:
    proc = run_dbt(args, url=url, check=False, capture=True)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def signals(url: str) -> dict[int, tuple[str, str | None, object]]:
    """signal_id -> (reason, intel_unique_id, processed_at)."""
    return {
        r[0]: r[1:]
        for r in q(
            url,
            "select signal_id, reason, payload->>'intel_unique_id', processed_at from bit.signal",
        )
    }


def delivered_at(url: str) -> dict[str, object]:
    """PLE outbox_id -> when its delivered attempt finished (the delivery log)."""
    return dict(
        q(
            url,
            "select outbox_id, finished_at from raw_ops.deliveries"
            " where target = 'ple' and status = 'delivered'",
        )
    )


@pytest.fixture(scope="module")
def built(warehouse, tmp_path_factory, monkeypatch_module) -> str:
    tmp = tmp_path_factory.mktemp("signals")
    for name in ("PLE_WEBHOOK_URL", "OUTREACH_PLE_ENVELOPE", "OUTREACH_NOTIFY_CHANNEL"):
        monkeypatch_module.delenv(name, raising=False)
    load_intake_files(FIXTURES / "companies.csv", FIXTURES / "people.csv", progress=quiet)
    (loaded_at,) = q(warehouse, "select max(_loaded_at) from raw_intake.people")[0]
    result = import_dataset(
        FIXTURES / "refresh_month1.json",
        observed_at=(loaded_at + timedelta(days=1)).isoformat(),
        database_url=warehouse,
        progress=quiet,
        pipelines_dir=tmp / "dlt",
    )
    assert result.ok
    dbt(warehouse, BUILD)
    return warehouse


def test_a_signal_delivered_through_the_outbox_is_processed_after_the_next_build(built):
    before = signals(built)
    movements = {sid: intel for sid, (reason, intel, _) in before.items() if reason == "executive_movement"}  # fmt: skip
    assert len(movements) >= 3, before
    assert all(processed is None for _, _, processed in before.values())
    (refused_sid, refused_intel), *delivered = sorted(movements.items())

    with WebhookReceiver(secret=SECRET) as receiver:
        receiver.reject(refused_intel, 422)  # a row the receiver refuses: not delivered
        report = deliver_ple(built, webhook_url=receiver.url, secret=SECRET, progress=quiet, **FAST)
        accepted = {r.idempotency_key for r in receiver.accepted()}
    assert report.delivered == len(accepted) and report.failed_rows >= 1
    assert {intel for _, intel in delivered} <= accepted
    assert refused_intel not in accepted

    dbt(built, ["build", "--select", "signal"])  # the model, its unit tests and data tests
    after, log = signals(built), delivered_at(built)
    for sid, intel in delivered:
        assert after[sid][2] is not None and after[sid][2] == log[intel], (sid, intel)
    assert after[refused_sid][2] is None
    assert all(p is None for reason, _, p in after.values() if reason != "executive_movement")

    # the receiver takes the refused message later: its signal follows; the others keep
    # their first delivery time
    with WebhookReceiver(secret=SECRET) as receiver:
        again = deliver_ple(built, webhook_url=receiver.url, secret=SECRET, progress=quiet, **FAST)
        assert {r.idempotency_key for r in receiver.accepted()} >= {refused_intel}
    assert again.pending_after == 0
    dbt(built, ["build", "--select", "signal"])
    final = signals(built)
    assert final[refused_sid][2] == delivered_at(built)[refused_intel]
    assert {sid: final[sid][2] for sid, _ in delivered} == {
        sid: after[sid][2] for sid, _ in delivered
    }
