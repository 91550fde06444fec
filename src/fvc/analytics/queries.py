"""Named queries: the questions asked of a workspace often enough to keep.

Some queries depend on columns that vary (feature names, the metric keys in
metrics.json), so each query is a builder that looks at the views present and
returns SQL; ``fvc query --name X --show-sql`` prints the SQL it ran.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ..errors import FvcError
from .views import Analytics, _quote

STAGE_TABLES = ("index", "augmented", "features_stage2", "scaled", "features_stage4")
FEATURE_TABLES = ("features_stage2", "features_stage4")
# Columns of feature tables that are keys or bookkeeping, never features.
NON_FEATURES = {
    "video_id", "source_video_id", "fold", "label", "error", "stage_key", "config_hash", "cascade_id",
    "group_id", "aug_index", "is_augmented", "path",
}
NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL",
           "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "BOOLEAN")
COMPACT_CV = {("roc_auc", "mean"), ("roc_auc", "std"), ("pr_auc", "mean"), ("f1", "mean"), ("brier", "mean")}
CV_METRICS = ("roc_auc", "pr_auc", "balanced_accuracy", "accuracy", "f1", "precision", "recall",
              "eer", "log_loss", "brier")
PROBA_NAMES = ("prob_fake", "proba", "prob", "p_fake", "y_prob", "y_score", "score")
TRUTH_NAMES = ("label", "y_true", "target")


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    requires: tuple[str, ...]  # any one of these views is enough
    build: Callable[[Analytics], str]

    def available(self, an: Analytics) -> bool:
        return any(an.has(v) for v in self.requires)


def _is_numeric(dtype: str) -> bool:
    return dtype.split("(")[0].upper() in NUMERIC


def _pick(columns: list[str], *candidates: str) -> str | None:
    for c in candidates:
        if c in columns:
            return c
    return None


def _metric_column(columns: list[str], metric: str, stat: str) -> str | None:
    """Find the column holding ``stat`` (mean/std) of ``metric`` in flattened metrics.json."""
    forms = (f"{metric}.{stat}", f"{metric}_{stat}", f"{stat}.{metric}", f"{stat}_{metric}")
    hits = [c for c in columns if any(c == f or c.endswith("." + f) for f in forms)]
    return min(hits, key=len) if hits else None


def _cv_summary(an: Analytics, full: bool = False) -> str:
    """Best mean ROC-AUC first. Compact: the columns that decide between models, fitting a 120-column log;
    ``full``: every metric's mean and std."""
    cols = list(an.columns("results"))
    select = [_quote("model_id")]
    order = None
    for extra in () if full else ("family", "preset"):
        hit = _pick(cols, extra) or next((c for c in cols if c.endswith("." + extra)), None)
        if hit:
            select.append(f"{_quote(hit)} AS {extra}")
    for metric in CV_METRICS:
        for stat in ("mean", "std"):
            if not full and (metric, stat) not in COMPACT_CV:
                continue
            col = _metric_column(cols, metric, stat)
            if col:
                select.append(f"round(TRY_CAST({_quote(col)} AS DOUBLE), 4) AS {metric}_{stat}")
                if metric == "roc_auc" and stat == "mean":
                    order = f"{metric}_{stat}"
    if len(select) == 1:
        raise FvcError("results: no '<metric>.mean' columns found in metrics.json files")
    for extra in ("family", "level", "n_videos", "n_failed_videos", "config_hash", "created_at") if full else ("n_videos",):
        hit = _pick(cols, extra) or next((c for c in cols if c.endswith("." + extra)), None)
        if hit:
            select.append(f"{_quote(hit)} AS {extra}")
    return (f"SELECT {', '.join(select)} FROM results"
            + (f" ORDER BY {order} DESC NULLS LAST" if order else ""))


def _feature_stats(an: Analytics) -> str:
    parts = []
    for table in FEATURE_TABLES:
        if not an.has(table):
            continue
        cols = an.columns(table)
        feats = [c for c, t in cols.items() if c not in NON_FEATURES and _is_numeric(t)]
        if not feats or "label" not in cols:
            continue
        casts = ", ".join(f"CAST({_quote(c)} AS DOUBLE) AS {_quote(c)}" for c in feats)
        where = "label IS NOT NULL" + (" AND error IS NULL" if "error" in cols else "")
        parts.append(
            f"SELECT '{table}' AS stage, feature, label, value FROM (UNPIVOT "
            f"(SELECT label, {casts} FROM {_quote(table)} WHERE {where}) "
            f"ON COLUMNS(* EXCLUDE (label)) INTO NAME feature VALUE value)"
        )
    if not parts:
        raise FvcError("no feature table with a label column; run `fvc features` first")
    long = " UNION ALL ".join(parts)
    return f"""
WITH long AS ({long}),
s AS (
  SELECT stage, feature,
    count(value) FILTER (WHERE label = 1) AS n_fake,
    avg(value) FILTER (WHERE label = 1) AS mean_fake,
    stddev_samp(value) FILTER (WHERE label = 1) AS std_fake,
    count(value) FILTER (WHERE label = 0) AS n_real,
    avg(value) FILTER (WHERE label = 0) AS mean_real,
    stddev_samp(value) FILTER (WHERE label = 0) AS std_real,
    count(*) - count(value) AS n_missing
  FROM long GROUP BY stage, feature
)
SELECT stage, feature, n_fake, mean_fake, std_fake, n_real, mean_real, std_real, n_missing,
  round((mean_fake - mean_real) / nullif(sqrt((std_fake * std_fake + std_real * std_real) / 2), 0), 3)
    AS effect_size
FROM s ORDER BY abs(effect_size) DESC NULLS LAST, stage, feature
"""


def _failures_by_stage(an: Analytics) -> str:
    parts = []
    for table in STAGE_TABLES:
        if an.has(table) and "error" in an.columns(table):
            parts.append(
                f"SELECT '{table}' AS stage, count(*) AS n_rows, count(error) AS n_failed, "
                f"round(100.0 * count(error) / nullif(count(*), 0), 1) AS pct_failed, "
                f"mode(error) AS most_common_error FROM {_quote(table)}"
            )
    if not parts:
        raise FvcError("no stage table with an error column yet; run `fvc index` first")
    return " UNION ALL ".join(parts)


def _failed_rows(an: Analytics) -> str:
    parts = []
    for table in STAGE_TABLES:
        if an.has(table) and {"error", "video_id"} <= set(an.columns(table)):
            parts.append(f"SELECT '{table}' AS stage, video_id, error FROM {_quote(table)} WHERE error IS NOT NULL")
    if not parts:
        raise FvcError("no stage table with an error column yet; run `fvc index` first")
    return " UNION ALL ".join(parts) + " ORDER BY stage, video_id"


def _codec_by_label(an: Analytics) -> str:
    return """
SELECT coalesce(codec, '(unreadable)') AS codec,
  count(*) FILTER (WHERE label = 1) AS fake,
  count(*) FILTER (WHERE label = 0) AS real,
  count(*) FILTER (WHERE label IS NULL) AS excluded,
  count(*) AS total,
  round(100.0 * count(*) FILTER (WHERE label = 1) / nullif(count(*) FILTER (WHERE label IS NOT NULL), 0), 1)
    AS pct_fake
FROM "index" GROUP BY ALL ORDER BY total DESC, codec
"""


def _resolution_by_label(an: Analytics) -> str:
    return """
SELECT width || 'x' || height AS resolution,
  count(*) FILTER (WHERE label = 1) AS fake,
  count(*) FILTER (WHERE label = 0) AS real,
  count(*) AS total,
  round(avg(fps), 2) AS mean_fps, round(avg(duration), 2) AS mean_duration_s
FROM "index" WHERE error IS NULL GROUP BY ALL ORDER BY total DESC, resolution
"""


def _fold_balance(an: Analytics) -> str:
    return """
SELECT fold, count(*) AS videos, count(DISTINCT group_id) AS groups,
  count(*) FILTER (WHERE label = 1) AS fake, count(*) FILTER (WHERE label = 0) AS real,
  round(100.0 * count(*) FILTER (WHERE label = 1) / nullif(count(*) FILTER (WHERE label IS NOT NULL), 0), 1)
    AS pct_fake
FROM splits GROUP BY fold ORDER BY fold
"""


def _worst_predictions(an: Analytics) -> str:
    cols = list(an.columns("predictions"))
    prob = _pick(cols, *PROBA_NAMES)
    truth = _pick(cols, *TRUTH_NAMES)
    if not prob or not truth:
        raise FvcError(f"predictions: need a probability column ({'/'.join(PROBA_NAMES)}) and a label column")
    key = ", ".join(_quote(c) for c in ("video_id", "source_video_id", "fold") if c in cols)
    key = key + ", " if key else ""
    return (
        f"SELECT model_id, {key}{_quote(truth)} AS label, round({_quote(prob)}, 4) AS prob_fake, "
        f"round(abs({_quote(truth)} - {_quote(prob)}), 4) AS error "
        f"FROM predictions WHERE {_quote(truth)} IS NOT NULL AND {_quote(prob)} IS NOT NULL "
        f"ORDER BY error DESC LIMIT 50"
    )


def _mlflow_runs(an: Analytics) -> str:
    cols = an.columns("mlflow_runs")
    wanted = [c for c in ("run_name", "model_id", "kind", "fold", "status", "start_time",
                          "metrics.roc_auc", "metrics.roc_auc_mean", "metrics.roc_auc_std",
                          "params.config_hash", "params.data_fingerprint", "run_id") if c in cols]
    select = ", ".join(_quote(c) for c in wanted) if wanted else "*"
    order = " ORDER BY start_time DESC" if "start_time" in cols else ""
    return f"SELECT {select} FROM mlflow_runs{order}"


def _experiment_events(an: Analytics) -> str:
    return """
SELECT run_id, any_value(model_id) AS model_id, min(ts) AS started, max(ts) AS last_event,
  count(*) AS events, count(*) FILTER (WHERE event = 'epoch_end') AS epochs,
  count(*) FILTER (WHERE event = 'fold_end') AS folds,
  bool_or(event = 'run_end') AS finished
FROM experiment_log GROUP BY run_id ORDER BY started DESC
"""


NAMED_QUERIES: dict[str, NamedQuery] = {
    q.name: q
    for q in (
        NamedQuery("cv_summary", "per-model cross-validation ROC-AUC (mean, std), PR-AUC, F1, Brier; best first",
                   ("results",), _cv_summary),
        NamedQuery("cv_summary_full", "every cross-validation metric's mean and std per model, best ROC-AUC first",
                   ("results",), lambda an: _cv_summary(an, full=True)),
        NamedQuery("feature_stats_by_label", "per-feature mean/std for fake vs real, largest effect size first",
                   FEATURE_TABLES, _feature_stats),
        NamedQuery("failures_by_stage", "rows and failed rows per stage table, with the most common error",
                   STAGE_TABLES, _failures_by_stage),
        NamedQuery("failed_rows", "every failed row of every stage with its error", STAGE_TABLES, _failed_rows),
        NamedQuery("codec_by_label", "codec distribution of the indexed videos by label", ("index",),
                   _codec_by_label),
        NamedQuery("resolution_by_label", "resolutions of the indexed videos by label, with fps and duration",
                   ("index",), _resolution_by_label),
        NamedQuery("fold_balance", "videos, groups and fake share per fold", ("splits",), _fold_balance),
        NamedQuery("worst_predictions", "the 50 out-of-fold predictions furthest from their label",
                   ("predictions",), _worst_predictions),
        NamedQuery("mlflow_runs", "exported MLflow runs, newest first", ("mlflow_runs",), _mlflow_runs),
        NamedQuery("experiment_runs", "runs in the JSONL experiment log: events, epochs, folds, finished",
                   ("experiment_log",), _experiment_events),
    )
}


def named_sql(an: Analytics, name: str) -> str:
    """The SQL of a named query for this workspace (errors name what is missing)."""
    if name not in NAMED_QUERIES:
        raise FvcError(f"unknown named query '{name}'; known: {', '.join(NAMED_QUERIES)}")
    q = NAMED_QUERIES[name]
    if not q.available(an):
        raise FvcError(
            f"query '{name}' needs the {' or '.join(q.requires)} table, which this workspace does not have yet"
        )
    return q.build(an).strip()


def run_named(an: Analytics, name: str) -> pd.DataFrame:
    return an.sql(named_sql(an, name))


def list_queries(an: Analytics | None = None) -> list[dict[str, str]]:
    rows = []
    for q in NAMED_QUERIES.values():
        row = {"name": q.name, "description": q.description, "needs": " or ".join(q.requires)}
        if an is not None:
            row["ready"] = "yes" if q.available(an) else "no"
        rows.append(row)
    return rows
