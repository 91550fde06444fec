"""Cross-validation folds: stratified by label, grouped so no cascade spans two folds.

The group of a video is the connected component of its cascades: in the real
FVC one URL can sit in several cascades (e.g. f138, f139, f140), so those
cascades must land in the same fold too.
"""

from __future__ import annotations

import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from ..errors import InputError


def cascade_groups(df: pd.DataFrame) -> pd.Series:
    """Group id per row: union of cascades linked by a shared video (``cascade_ids``)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    per_row: list[list[str]] = []
    for _, row in df.iterrows():
        ids = [str(row["cascade_id"])]
        extra = row.get("cascade_ids") if "cascade_ids" in df.columns else None
        if isinstance(extra, str) and extra:
            ids += [c for c in extra.split(",") if c]
        for c in ids[1:]:
            union(ids[0], c)
        find(ids[0])
        per_row.append(ids)
    return pd.Series([find(ids[0]) for ids in per_row], index=df.index, name="group_id")


def make_splits(index: pd.DataFrame, folds: int = 5, seed: int = 42) -> pd.DataFrame:
    """Assign each readable, labelled video a fold in ``0..folds-1``.

    Rows excluded from training (label is null: uncertain, debunked, parody)
    take the fold of their group when it has one, else -1.
    """
    for col in ("video_id", "cascade_id", "label"):
        if col not in index.columns:
            raise InputError("index.parquet", f"missing column '{col}'; re-run 'fvc index'")
    df = index.copy()
    if "error" in df.columns:
        df = df[df["error"].isna()]
    df = df.reset_index(drop=True)
    df["group_id"] = cascade_groups(df)
    train = df[df["label"].notna()]
    n_groups = train["group_id"].nunique()
    if n_groups < folds:
        raise InputError("index.parquet", f"only {n_groups} labelled cascade groups, fewer than {folds} folds")
    for lab, count in train.groupby("label")["group_id"].nunique().items():
        if count < folds:
            raise InputError("index.parquet", f"label {lab} has only {count} cascade groups, fewer than {folds} folds")
    sgkf = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold = pd.Series(-1, index=df.index, dtype="int64")
    y = train["label"].astype(int).to_numpy()
    for k, (_, test_idx) in enumerate(sgkf.split(train, y, groups=train["group_id"].to_numpy())):
        fold.loc[train.index[test_idx]] = k
    group_fold = fold[fold >= 0].groupby(df.loc[fold >= 0, "group_id"]).first()
    unlabelled = df["label"].isna()
    fold.loc[unlabelled] = df.loc[unlabelled, "group_id"].map(group_fold).fillna(-1).astype("int64")
    out = df[["video_id", "cascade_id", "group_id", "label"]].copy()
    out["fold"] = fold.to_numpy()
    out["label"] = out["label"].astype("Int64")
    return out


def fold_summary(splits: pd.DataFrame) -> pd.DataFrame:
    """Per-fold counts of real and fake videos and the fake share."""
    labelled = splits[splits["label"].notna() & (splits["fold"] >= 0)]
    table = labelled.groupby(["fold", "label"]).size().unstack(fill_value=0)
    table = table.rename(columns={0: "real", 1: "fake"})
    for col in ("real", "fake"):
        if col not in table.columns:
            table[col] = 0
    table["videos"] = table["real"] + table["fake"]
    table["fake_share"] = (table["fake"] / table["videos"]).round(3)
    table["cascades"] = labelled.groupby("fold")["group_id"].nunique()
    return table.reset_index()[["fold", "videos", "real", "fake", "fake_share", "cascades"]]


def run_splits(ws, cfg, folds: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """Make folds from the ``index`` table and write ``splits``; CLI options override the config.

    The options are validated and the folds made before fvc.yaml is saved, so
    a fold count the data cannot support is never persisted.
    """
    from ..config import save_config, with_options

    cfg = with_options(cfg, {"splits.folds": folds, "splits.seed": seed})
    splits = make_splits(ws.read("index"), folds=cfg.splits.folds, seed=cfg.splits.seed)
    save_config(ws, cfg)
    ws.write("splits", splits)
    return splits
