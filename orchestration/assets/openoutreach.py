"""The LinkedIn connection funnel as assets: the OpenOutreach CRM load and the scorer.

``openoutreach_load`` lands one account's crm.db into ``raw_openoutreach/crm_*`` (the keys
the dbt translator gives the sources) through ``loaders.openoutreach.run.load_crm``, the
entry point of ``outreach load openoutreach``. ``marketing/connect_queue`` ranks the
enriched profiles (``orchestration.connect_scorer.score_connect_queue``) after the dbt
models it reads; its metadata carries the held-out ROC-AUC, PR-AUC, Brier score, the
keyword baseline and the calibration table. Nothing touches the warehouse at import time.
"""

from collections.abc import Iterator

import dagster as dg
from pydantic import Field

from orchestration.domains import CAMPAIGNS
from orchestration.resources import WarehouseResource

RAW_KEYS = [dg.AssetKey(["raw_openoutreach", t]) for t in ("crm_stage", "crm_closingreason", "crm_lead", "crm_deal")]  # fmt: skip
QUEUE_KEY = dg.AssetKey(["marketing", "connect_queue"])
SCORER_DEPS = [
    dg.AssetKey(["marketing", "ml_connection_accepted"]),
    dg.AssetKey(["marketing", "linkedin_connect_candidates"]),
]


class OpenOutreachConfig(dg.Config):
    """Which OpenOutreach CRM to load (as ``outreach load openoutreach``)."""

    crm_path: str = Field(description="path of OpenOutreach's crm.db (opened read-only)")
    account: str = Field(default="default", description="the LinkedIn account it belongs to")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=key,
            group_name=CAMPAIGNS,
            kinds={"dlt", "sqlite"},
            description=f"raw_openoutreach.{key.path[-1]}: OpenOutreach's DjangoCRM table, "
            "merged on (account, id), incremental on update_date.",
        )
        for key in RAW_KEYS
    ],
    name="openoutreach_load",
    can_subset=False,
    op_tags={"outreach/loader": "openoutreach"},
)
def openoutreach_load(
    context: dg.AssetExecutionContext, config: OpenOutreachConfig, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    """Land one OpenOutreach account's crm.db into raw_openoutreach."""
    from loaders.openoutreach.run import CrmFileError, load_crm

    try:
        summary = load_crm(
            config.crm_path, config.account, database_url=warehouse.url(), progress=context.log.info
        )
    except CrmFileError as exc:
        raise dg.Failure(description=str(exc)) from None
    for key in RAW_KEYS:
        table = key.path[-1]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "account": dg.MetadataValue.text(summary.account),
                "rows_read": dg.MetadataValue.int(summary.rows.get(table, 0)),
                "dagster/row_count": dg.MetadataValue.int(summary.totals.get(table, 0)),
                "duration_s": dg.MetadataValue.float(round(summary.seconds, 2)),
            },
        )


class ConnectQueueConfig(dg.Config):
    """How the connect queue is scored (defaults as the demo)."""

    seed: int = Field(default=0, description="random seed: same data + seed -> same queue")
    keywords_path: str | None = Field(
        default=None, description="keywords YAML (default orchestration/connect_keywords.yaml)"
    )
    min_rows: int = Field(default=50, description="fewer labelled requests: keyword cold start")
    n_bootstrap: int = Field(default=10, description="bootstrap models of the posterior")


@dg.asset(
    key=QUEUE_KEY,
    deps=SCORER_DEPS,
    group_name=CAMPAIGNS,
    kinds={"python", "scikitlearn", "postgres"},
    description="marketing.connect_queue: enriched OpenOutreach profiles ranked by Thompson "
    "sampling from a bootstrap posterior of a HistGradientBoosting acceptance model "
    "(keyword cold start / arrival order when there is too little to learn from).",
)
def connect_queue(
    context: dg.AssetExecutionContext, config: ConnectQueueConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """Train on marketing.ml_connection_accepted and rank marketing.linkedin_connect_candidates."""
    from orchestration.connect_scorer import score_connect_queue

    result = score_connect_queue(
        warehouse.url(),
        seed=config.seed,
        keywords_path=config.keywords_path,
        min_rows=config.min_rows,
        n_bootstrap=config.n_bootstrap,
        progress=context.log.info,
    )
    calibration = "\n".join(
        ["| bin | predicted | observed | n |", "| ---: | ---: | ---: | ---: |"]
        + [
            f"| {int(c['bin'])} | {c['predicted']} | {c['observed']} | {int(c['count'])} |"
            for c in result.calibration
        ]
    )
    metrics = {k: v for k, v in result.metrics.items() if v is not None}
    return dg.MaterializeResult(
        metadata={
            "model_version": dg.MetadataValue.text(result.model_version),
            "method": dg.MetadataValue.text(result.method),
            "reason": dg.MetadataValue.text(result.reason),
            "rows_labelled": dg.MetadataValue.int(result.rows_labelled),
            "rows_train": dg.MetadataValue.int(result.rows_train),
            "rows_test": dg.MetadataValue.int(result.rows_test),
            "dagster/row_count": dg.MetadataValue.int(result.candidates),
            **{k: dg.MetadataValue.float(float(v)) for k, v in metrics.items()},
            "calibration": dg.MetadataValue.md(calibration if result.calibration else "none"),
            "top_features": dg.MetadataValue.json(result.top_features),
            "train_seconds": dg.MetadataValue.float(round(result.train_seconds, 2)),
            "score_seconds": dg.MetadataValue.float(round(result.score_seconds, 2)),
        }
    )
