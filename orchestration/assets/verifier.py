"""The MillionVerifier loader as assets: ``raw_verifier/email_checks`` and
``raw_verifier/verification_runs`` (the keys the dbt translator gives the dbt sources, so
contact_verification, the email queue, slots and signals hang off this asset).

One run verifies the emails due in ``people.due_email_recheck_30d`` and lands the answers.
The queue is read at run time and the asset declares no upstream: the queue is derived from
these very checks, and any upstream that the dbt op touches (a model, or a raw table whose
source tests run as dbt checks) would put the dbt op both before and after this one. ``OUTREACH_TEST_MODE=true`` talks to the local test-mode server.
Nothing touches the warehouse at import time.
"""

from collections.abc import Iterator

import dagster as dg
from pydantic import Field

from orchestration.domains import EMAIL_VERIFICATION
from orchestration.resources import WarehouseResource

VERIFIER_GROUP = EMAIL_VERIFICATION
CHECKS_KEY = dg.AssetKey(["raw_verifier", "email_checks"])
RUNS_KEY = dg.AssetKey(["raw_verifier", "verification_runs"])


class VerifierConfig(dg.Config):
    """How a verification run goes (defaults as ``outreach load millionverifier``)."""

    concurrency: int = Field(default=10, description="requests in flight")
    timeout_s: int = Field(default=20, description="seconds the API may spend per address (2-60)")
    bulk_threshold: int = Field(
        default=5000, description="more emails than this: use the bulk file API"
    )
    max_emails: int | None = Field(default=None, description="verify at most this many emails")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=CHECKS_KEY,
            group_name=VERIFIER_GROUP,
            kinds={"dlt", "python"},
            description=(
                "raw_verifier.email_checks: one row per MillionVerifier answer for the emails "
                "due in people.due_email_recheck_30d, with the time it arrived."
            ),
        ),
        dg.AssetSpec(
            key=RUNS_KEY,
            group_name=VERIFIER_GROUP,
            kinds={"python", "postgres"},
            description="raw_verifier.verification_runs: one row per verification run.",
        ),
    ],
    name="millionverifier_verify",
    can_subset=False,
    op_tags={"outreach/loader": "millionverifier"},
)
def verifier_assets(
    context: dg.AssetExecutionContext, config: VerifierConfig, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    """Verify the due emails through MillionVerifier and land the answers in raw_verifier."""
    from loaders.millionverifier import settings as mv
    from loaders.millionverifier.run import VerifierError, verify_emails

    try:
        summary = verify_emails(
            database_url=warehouse.url(),
            concurrency=config.concurrency,
            api_timeout_s=config.timeout_s,
            bulk_threshold=config.bulk_threshold,
            max_emails=config.max_emails,
            progress=context.log.info,
        )
    except VerifierError as exc:
        raise dg.Failure(description=str(exc)) from None
    results = "\n".join(
        ["| result | emails |", "| --- | ---: |"]
        + [f"| {k} | {v} |" for k, v in sorted(summary.by_result.items())]
    )
    yield dg.MaterializeResult(
        asset_key=CHECKS_KEY,
        metadata={
            "run_id": dg.MetadataValue.text(summary.run_id),
            "status": dg.MetadataValue.text(summary.status),
            "method": dg.MetadataValue.text(summary.method),
            "emails_requested": dg.MetadataValue.int(summary.requested),
            "emails_answered": dg.MetadataValue.int(summary.answered),
            "emails_unanswered": dg.MetadataValue.int(summary.unanswered_total),
            "emails_not_attempted": dg.MetadataValue.int(summary.not_attempted),
            "credits_left": dg.MetadataValue.int(summary.credits_left)
            if summary.credits_left is not None
            else dg.MetadataValue.text("unknown"),
            "emails_per_second": dg.MetadataValue.float(round(summary.emails_per_second, 1)),
            "duration_s": dg.MetadataValue.float(round(summary.seconds, 2)),
            "results": dg.MetadataValue.md(results if summary.by_result else "no answers"),
            "http": dg.MetadataValue.json(summary.http),
        },
    )
    yield dg.MaterializeResult(
        asset_key=RUNS_KEY,
        metadata={
            "run_id": dg.MetadataValue.text(summary.run_id),
            "status": dg.MetadataValue.text(summary.status),
        },
    )
    if summary.status == mv.RUN_CREDITS_EXHAUSTED:
        # what was answered is landed and flows on; the operator must add credits
        context.log.error(summary.message or "MillionVerifier credits ran out")
    elif summary.status == mv.RUN_FAILED:
        raise dg.Failure(description=summary.message or "the verification run failed")


# Verify the due emails, then rebuild everything the answers feed (contact_verification,
# the email queue, slots, renewal readiness, signals) with their tests.
verify_emails_and_build = dg.define_asset_job(
    name="verify_emails_and_build",
    selection=dg.AssetSelection.assets(verifier_assets).downstream(),
    description=(
        "Verify the emails due in people.due_email_recheck_30d through MillionVerifier, then "
        "build the models downstream of raw_verifier and run their tests."
    ),
)
