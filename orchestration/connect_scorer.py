"""The connect-queue scorer: who an OpenOutreach account should connect with next.

Reads ``marketing.ml_connection_accepted`` (decided requests, honest labels) and
``marketing.linkedin_connect_candidates`` (enriched profiles not yet requested), trains
scikit-learn's ``HistGradientBoostingClassifier`` and writes ``marketing.connect_queue``
(profile, account, score, rank, the reason's top features, model version) and a row of
``marketing.connect_model_history``. The Dagster asset ``marketing/connect_queue`` and the
demo call ``score_connect_queue``.

- **Evaluation on a time-based split**: the earliest ``1 - test_fraction`` of requests (by
  requested_on) train, the latest test. ROC-AUC, PR-AUC, Brier score, a 10-bin calibration
  table and the keyword baseline's ROC-AUC on the same test rows are recorded.
- **Ranking by Thompson sampling from a bootstrap posterior.** ``n_bootstrap`` models are
  fitted on bootstrap resamples of all labelled rows; for each candidate one member is drawn
  at random and its probability is the sampled score (Eckles & Kaptein, "Thompson sampling
  with the online bootstrap", 2014). The spread between members is the model's own
  uncertainty, so uncertain profiles get explored; OpenOutreach's Beta(10p, 10(1-p))
  around one point prediction has a fixed spread that says nothing about the data.
  ``score`` is the ensemble mean; ``rank`` orders by the sampled score.
- **Fallbacks, each saying why** (``method`` and ``reason`` columns, the history row): fewer
  than ``min_rows`` labelled rows or a single class -> the keyword cold start (positive
  minus negative keyword hits from the YAML, ties by arrival); no keywords either -> arrival
  order.
- **Deterministic for a seed**: same rows + same seed -> same model version and queue.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "FEATURES",
    "MECHANICAL_FEATURES",
    "ScoreResult",
    "keyword_scores",
    "load_keywords",
    "score_connect_queue",
]

DEFAULT_KEYWORDS = Path(__file__).with_name("connect_keywords.yaml")

# OpenOutreach's linkedin/ml/scorer.py MECHANICAL_FEATURES, in its order
MECHANICAL_FEATURES = [
    "connection_degree", "num_positions", "num_educations", "has_summary", "headline_length",
    "summary_length", "has_industry", "has_geo", "has_location", "has_company",
    "num_distinct_companies", "positions_with_description_ratio", "num_position_locations",
    "total_description_length", "has_position_descriptions", "is_currently_employed",
    "avg_title_length", "years_experience", "current_position_tenure_months",
    "avg_position_tenure_months", "longest_tenure_months", "has_education_degree",
    "has_field_of_study", "has_multiple_degrees",
]  # fmt: skip
OUR_FEATURES = [
    "had_recent_job_change", "seniority_rank", "company_in_renewal_window", "has_verified_email",
]  # fmt: skip
FEATURES = MECHANICAL_FEATURES + OUR_FEATURES + ["keyword_positive", "keyword_negative"]

QUEUE = "marketing.connect_queue"
HISTORY = "marketing.connect_model_history"
DDL = f"""
create schema if not exists marketing;
create table if not exists {QUEUE} (
    account text not null, deal_id bigint not null, lead_id bigint not null, profile text,
    score double precision, sampled_score double precision, rank integer not null,
    method text not null, reason text not null, model_version text not null,
    scored_at timestamptz not null, primary key (account, deal_id));
create table if not exists {HISTORY} (
    model_version text not null, trained_at timestamptz not null, method text not null,
    reason text not null, seed integer not null, rows_labelled integer not null,
    rows_train integer not null, rows_test integer not null, positives integer not null,
    roc_auc double precision, pr_auc double precision, brier double precision,
    keyword_roc_auc double precision, calibration jsonb, top_features jsonb,
    candidates integer not null, train_seconds double precision,
    score_seconds double precision, primary key (model_version, trained_at));
"""

Progress = Callable[[str], Any]


@dataclass
class ScoreResult:
    """What one scoring run did."""

    model_version: str
    method: str  # model | keywords | arrival
    reason: str
    rows_labelled: int = 0
    rows_train: int = 0
    rows_test: int = 0
    positives: int = 0
    candidates: int = 0
    metrics: dict[str, float | None] = field(default_factory=dict)
    calibration: list[dict[str, float]] = field(default_factory=list)
    top_features: list[str] = field(default_factory=list)
    train_seconds: float = 0.0
    score_seconds: float = 0.0


def load_keywords(path: str | Path | None = None) -> dict[str, list[str]]:
    """positive / negative keyword lists from a YAML file (OpenOutreach's shape)."""
    import yaml

    path = Path(path or DEFAULT_KEYWORDS)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the keywords YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with positive: and negative: lists")
    out = {}
    for key in ("positive", "negative"):
        words = data.get(key) or []
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError(f"{path}: {key}: expected a list of words")
        out[key] = [w.strip().lower() for w in words if w.strip()]
    return out


def keyword_scores(texts: Any, keywords: dict[str, list[str]]) -> tuple[Any, Any]:
    """(positive hits, negative hits) per text: whole-word matches of each keyword."""
    import numpy as np

    def pattern(words: list[str]) -> re.Pattern | None:
        if not words:
            return None
        return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b")

    pos, neg = pattern(keywords["positive"]), pattern(keywords["negative"])
    p = np.array([len(pos.findall(t or "")) if pos else 0 for t in texts], dtype=float)
    n = np.array([len(neg.findall(t or "")) if neg else 0 for t in texts], dtype=float)
    return p, n


def _frame(conn: Any, relation: str, columns: list[str]) -> Any:
    import pandas as pd

    cur = conn.execute(f"select {', '.join(columns)} from {relation}")
    return pd.DataFrame(cur.fetchall(), columns=columns)


def _matrix(df: Any, keywords: dict[str, list[str]]) -> Any:
    df["keyword_positive"], df["keyword_negative"] = keyword_scores(df["profile_text"], keywords)
    return df[FEATURES].apply(lambda c: c.astype(float)).fillna(0.0).to_numpy()


def _classifier(seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=150, max_depth=4, learning_rate=0.08, min_samples_leaf=20,
        l2_regularization=1.0, early_stopping=False, random_state=seed,
    )  # fmt: skip


def _calibration(y: Any, p: Any, bins: int = 10) -> list[dict[str, float]]:
    import numpy as np

    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    return [
        {
            "bin": float(b),
            "predicted": round(float(p[which == b].mean()), 4),
            "observed": round(float(y[which == b].mean()), 4),
            "count": float((which == b).sum()),
        }
        for b in range(bins)
        if (which == b).any()
    ]


def _evaluate(df: Any, x: Any, y: Any, seed: int, test_fraction: float, result: ScoreResult):
    """Time-based split: train on the earliest requests, test on the latest. Returns the
    evaluation model (or None when the split leaves too little or one class)."""
    import numpy as np
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    dates = np.sort(df["requested_on"].to_numpy())
    cutoff = dates[min(len(dates) - 1, int(len(dates) * (1 - test_fraction)))]
    train = (df["requested_on"] < cutoff).to_numpy()
    test = ~train
    result.rows_train, result.rows_test = int(train.sum()), int(test.sum())
    if len(set(y[train])) < 2 or len(set(y[test])) < 2:
        result.metrics = {"roc_auc": None, "pr_auc": None, "brier": None, "keyword_roc_auc": None}
        return None, None, None
    model = _classifier(seed).fit(x[train], y[train])
    p = model.predict_proba(x[test])[:, 1]
    keyword = df["keyword_positive"].to_numpy()[test] - df["keyword_negative"].to_numpy()[test]
    result.metrics = {
        "roc_auc": round(float(roc_auc_score(y[test], p)), 4),
        "pr_auc": round(float(average_precision_score(y[test], p)), 4),
        "brier": round(float(brier_score_loss(y[test], p)), 4),
        "keyword_roc_auc": round(float(roc_auc_score(y[test], keyword)), 4),
        "base_rate_test": round(float(y[test].mean()), 4),
    }
    result.calibration = _calibration(y[test], p)
    return model, x[test], y[test]


def _version(df: Any, seed: int, method: str, extra: str = "") -> str:
    import pandas as pd

    digest = hashlib.sha256(f"{seed}|{method}|{extra}|".encode())
    digest.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return f"cm-{digest.hexdigest()[:12]}"


def _reasons(model: Any, x: Any, medians: Any, top: list[int]) -> list[str]:
    """Per row, the (up to) three features among ``top`` that raise its probability most
    against the training median (one at a time)."""
    import numpy as np

    base = model.predict_proba(x)[:, 1]
    deltas = []
    for j in top:
        xj = x.copy()
        xj[:, j] = medians[j]
        deltas.append(base - model.predict_proba(xj)[:, 1])
    d = np.array(deltas).T  # rows x top
    out = []
    for i in range(len(x)):
        order = np.argsort(-d[i], kind="stable")[:3]
        parts = [
            f"{FEATURES[top[k]]}={x[i, top[k]]:g} ({d[i, k]:+.2f})" for k in order if d[i, k] > 0
        ]
        out.append("; ".join(parts) or "no feature above the median profile")
    return out


def score_connect_queue(
    database_url: str,
    *,
    seed: int = 0,
    keywords_path: str | Path | None = None,
    min_rows: int = 50,
    test_fraction: float = 0.2,
    n_bootstrap: int = 10,
    now: datetime | None = None,
    progress: Progress = lambda _m: None,
) -> ScoreResult:
    """Train, evaluate and rank; replace marketing.connect_queue in one transaction."""
    import sklearn.ensemble  # noqa: F401 - loads its OpenMP runtime, so the limit below reaches it
    from threadpoolctl import threadpool_limits

    # one OpenMP thread: on a busy 2-core machine HistGradientBoosting's threads spin
    # against each other (measured: 0.9 s alone vs 9 s with two threads under load)
    with threadpool_limits(limits=1):
        return _score(
            database_url, seed, keywords_path, min_rows, test_fraction, n_bootstrap, now, progress
        )


def _score(
    database_url: str,
    seed: int,
    keywords_path: str | Path | None,
    min_rows: int,
    test_fraction: float,
    n_bootstrap: int,
    now: datetime | None,
    progress: Progress,
) -> ScoreResult:
    import numpy as np
    import psycopg

    keywords = load_keywords(keywords_path)
    now = now or datetime.now(UTC)
    label_cols = ["account", "deal_id", "accepted", "requested_on", "profile_text"]
    cand_cols = ["account", "deal_id", "lead_id", "profile", "created_at", "profile_text"]
    feats = MECHANICAL_FEATURES + OUR_FEATURES
    with psycopg.connect(database_url) as conn:
        # matured requests only: young ones are in the mart only when accepted, so keeping
        # them would tilt the labels towards acceptance (see ml_connection_accepted)
        labelled = _frame(
            conn, "marketing.ml_connection_accepted where is_matured", label_cols + feats
        )
        candidates = _frame(conn, "marketing.linkedin_connect_candidates", cand_cols + feats)
    labelled = labelled.sort_values(["account", "deal_id"], kind="stable").reset_index(drop=True)
    candidates = candidates.sort_values(["account", "deal_id"], kind="stable").reset_index(
        drop=True
    )
    x = _matrix(labelled, keywords) if len(labelled) else np.zeros((0, len(FEATURES)))
    xc = _matrix(candidates, keywords) if len(candidates) else np.zeros((0, len(FEATURES)))
    y = labelled["accepted"].to_numpy(dtype=int)
    positives = int(y.sum())
    has_keywords = bool(keywords["positive"] or keywords["negative"])
    if len(labelled) < min_rows or positives in (0, len(y)):
        why = (
            f"{len(labelled)} labelled requests (fewer than {min_rows})"
            if len(labelled) < min_rows
            else f"all {len(labelled)} labelled requests have one outcome"
        )
        method = "keywords" if has_keywords else "arrival"
        reason = f"{why}: " + (
            "keyword cold start" if has_keywords else "no keywords either: arrival order"
        )
    else:
        method, reason = "model", "HistGradientBoosting, bootstrap Thompson sampling"
    result = ScoreResult(
        model_version=_version(labelled, seed, method, f"{n_bootstrap}|{sorted(keywords.items())}"),
        method=method,
        reason=reason,
        rows_labelled=len(labelled),
        positives=positives,
        candidates=len(candidates),
    )
    progress(
        f"connect queue: {len(labelled)} labelled requests, {len(candidates)} candidates; {reason}"
    )
    rng = np.random.default_rng(seed)
    started = time.monotonic()
    if method == "model":
        model, x_test, y_test = _evaluate(labelled, x, y, seed, test_fraction, result)
        members = []
        for b in range(n_bootstrap):
            idx = rng.integers(0, len(y), len(y))
            if len(set(y[idx])) < 2:
                continue
            members.append(_classifier(seed + b).fit(x[idx], y[idx]))
        result.train_seconds = time.monotonic() - started
        started = time.monotonic()
        probs = np.array([m.predict_proba(xc)[:, 1] for m in members]) if len(xc) else None
        if probs is not None:
            draw = rng.integers(0, len(members), len(xc))
            candidates["score"] = probs.mean(axis=0)
            candidates["sampled_score"] = probs[draw, np.arange(len(xc))]
        else:
            candidates["score"] = candidates["sampled_score"] = []
        importance = _importance(model or members[0], x_test, y_test, x, y, seed)
        top = list(np.argsort(-importance, kind="stable")[:6])
        result.top_features = [FEATURES[j] for j in top]
        medians = np.median(x, axis=0)
        candidates["reason"] = _reasons(members[0], xc, medians, top) if len(xc) else []
        order = ["sampled_score", "deal_id"]
        ascending = [False, True]
    elif method == "keywords":
        candidates["score"] = candidates["keyword_positive"] - candidates["keyword_negative"]
        candidates["sampled_score"] = None
        candidates["reason"] = [
            f"keywords +{int(p)} -{int(n)}"
            for p, n in zip(
                candidates["keyword_positive"], candidates["keyword_negative"], strict=True
            )
        ]
        order, ascending = ["score", "created_at", "deal_id"], [False, True, True]
    else:
        candidates["score"] = candidates["sampled_score"] = None
        candidates["reason"] = "arrival order"
        order, ascending = ["created_at", "deal_id"], [True, True]
    if len(candidates):
        candidates = candidates.sort_values(
            ["account", *order], ascending=[True, *ascending], kind="stable"
        )
        candidates["rank"] = candidates.groupby("account").cumcount() + 1
    result.score_seconds = time.monotonic() - started
    _write(database_url, candidates, result, seed, now)
    progress(
        f"connect queue: {len(candidates)} ranked ({method}, {result.model_version}); "
        f"test ROC-AUC {result.metrics.get('roc_auc')} vs keywords {result.metrics.get('keyword_roc_auc')}"
    )
    return result


def _importance(model: Any, x_test: Any, y_test: Any, x: Any, y: Any, seed: int) -> Any:
    """Permutation importance (ROC-AUC drop) on the test rows, or on the training rows
    when there was no usable split."""
    from sklearn.inspection import permutation_importance

    xs, ys = (x_test, y_test) if x_test is not None else (x, y)
    if len(xs) > 5000:
        xs, ys = xs[:5000], ys[:5000]
    found = permutation_importance(model, xs, ys, scoring="roc_auc", n_repeats=2, random_state=seed)
    return found.importances_mean


def _write(
    database_url: str, candidates: Any, result: ScoreResult, seed: int, now: datetime
) -> None:
    import psycopg

    def num(v: Any) -> float | None:
        return None if v is None or v != v else float(v)

    rows = [
        (r.account, int(r.deal_id), int(r.lead_id), r.profile, num(r.score), num(r.sampled_score),
         int(r.rank), result.method, r.reason, result.model_version, now)
        for r in candidates.itertuples(index=False)
    ]  # fmt: skip
    with psycopg.connect(database_url) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('outreach connect_queue'))")
        conn.execute(DDL)
        conn.execute(f"delete from {QUEUE}")
        with conn.cursor().copy(
            f"copy {QUEUE} (account, deal_id, lead_id, profile, score, sampled_score, rank,"
            " method, reason, model_version, scored_at) from stdin"
        ) as copy:
            for row in rows:
                copy.write_row(row)
        conn.execute(
            f"insert into {HISTORY} values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s, %s, %s, %s) on conflict do nothing",
            (
                result.model_version, now, result.method, result.reason, seed,
                result.rows_labelled, result.rows_train, result.rows_test, result.positives,
                result.metrics.get("roc_auc"), result.metrics.get("pr_auc"),
                result.metrics.get("brier"), result.metrics.get("keyword_roc_auc"),
                json.dumps(result.calibration), json.dumps(result.top_features),
                result.candidates, result.train_seconds, result.score_seconds,
            ),
        )  # fmt: skip
