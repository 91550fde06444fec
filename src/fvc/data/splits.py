"""Cross-validation folds: stratified by label, grouped so no cascade spans two folds.

The group of a video is the connected component of its cascades: in the real
FVC one URL can sit in several cascades (e.g. f138, f139, f140), so those
cascades must land in the same fold too.

Groups are placed largest first, each in the fold whose real and fake counts
it brings closest to their targets (a fold's share of each label), then pairs
of groups are swapped between folds while that brings the counts closer. With
FVC's heavy-tailed cascade sizes this keeps every fold's fake share within a
point or two of the whole, where scikit-learn's StratifiedGroupKFold (which
orders groups by label mix, not size) left folds 4-6 points off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..stages import Stage


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
    extras = df["cascade_ids"] if "cascade_ids" in df.columns else [None] * len(df)
    for cascade_id, extra in zip(df["cascade_id"], extras):
        ids = [str(cascade_id)]
        if isinstance(extra, str) and extra:
            ids += [c for c in extra.split(",") if c]
        for c in ids[1:]:
            union(ids[0], c)
        find(ids[0])
        per_row.append(ids)
    return pd.Series([find(ids[0]) for ids in per_row], index=df.index, name="group_id")


def _fewer_folds_fix(most: int) -> str:
    """What to do when the data has too few cascades per label for the folds asked for."""
    if most >= 2:
        return f"use at most {most} folds: 'fvc splits --folds {most}' or 'fvc run --folds {most}'"
    return "add labelled videos of both classes (each fold needs a fake and a real cascade)"


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
    per_label = train.groupby("label")["group_id"].nunique().reindex([0, 1], fill_value=0)
    fix = _fewer_folds_fix(int(per_label.min()))
    if n_groups < folds:
        raise InputError("index.parquet", f"only {n_groups} labelled cascade groups, fewer than {folds} folds; {fix}")
    for lab, count in per_label.items():  # a label with no groups at all counts too
        if count < folds:
            raise InputError("index.parquet",
                             f"label {lab} has only {count} cascade groups, fewer than {folds} folds; {fix}")
    fold = pd.Series(-1, index=df.index, dtype="int64")
    y = train["label"].astype(int).to_numpy()
    fold_of_group = balanced_group_folds(train["group_id"].to_numpy(), y, folds, seed)
    fold.loc[train.index] = train["group_id"].map(fold_of_group).to_numpy()
    group_fold = fold[fold >= 0].groupby(df.loc[fold >= 0, "group_id"]).first()
    unlabelled = df["label"].isna()
    fold.loc[unlabelled] = df.loc[unlabelled, "group_id"].map(group_fold).fillna(-1).astype("int64")
    out = df[["video_id", "cascade_id", "group_id", "label"]].copy()
    out["fold"] = fold.to_numpy()
    out["label"] = out["label"].astype("Int64")
    return out


def balanced_group_folds(groups: np.ndarray, y: np.ndarray, folds: int, seed: int) -> dict:
    """Fold of each group: largest first, to the fold whose per-label counts it brings closest to target.

    ``y`` holds 0/1 labels per row. The seed orders groups of equal size and
    numbers the folds; the same inputs and seed always give the same folds.
    """
    names, inverse = np.unique(groups, return_inverse=True)
    counts = np.zeros((len(names), 2))
    np.add.at(counts, (inverse, y), 1)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(names))
    order = order[np.argsort(-counts[order].sum(axis=1), kind="stable")]
    target = np.maximum(counts.sum(axis=0) / folds, 1e-9)
    fold_counts = np.zeros((folds, 2))
    assigned = np.empty(len(names), dtype=np.int64)
    for g in order:
        c = counts[g]
        # growth of sum((count - target)^2 / target) if the group joins each fold
        cost = ((2 * c * (fold_counts - target) + c**2) / target).sum(axis=1)
        best = np.lexsort((np.arange(folds), fold_counts.sum(axis=1), cost))[0]
        fold_counts[best] += c
        assigned[g] = best
    _improve_by_swaps(counts, assigned, fold_counts, target, order)
    numbering = rng.permutation(folds)
    return dict(zip(names.tolist(), numbering[assigned].tolist()))


def _improve_by_swaps(counts, assigned, fold_counts, target, order, max_rounds: int = 50) -> None:
    """Swap pairs of groups between folds while that lowers sum((count - target)^2 / target), in place.

    The greedy pass can leave the last, smallest groups where no single one
    evens out the folds; exchanging two groups of different label mix often can.
    """
    for _ in range(max_rounds):
        improved = False
        for a in order:
            fa = assigned[a]
            others = np.flatnonzero(assigned != fa)
            if not len(others):
                continue
            diff = counts[others] - counts[a]  # fold fa gains b - a, fold fb gains a - b
            fb = assigned[others]
            before = ((fold_counts[fa] - target) ** 2 / target).sum() + ((fold_counts[fb] - target) ** 2 / target).sum(1)
            after = ((fold_counts[fa] + diff - target) ** 2 / target).sum(1) + \
                ((fold_counts[fb] - diff - target) ** 2 / target).sum(1)
            gain = before - after
            k = int(np.argmax(gain))
            if gain[k] > 1e-9:
                b = others[k]
                fold_counts[fa] += diff[k]
                fold_counts[fb[k]] -= diff[k]
                assigned[a], assigned[b] = assigned[b], assigned[a]
                improved = True
        if not improved:
            return


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


SPLITS = Stage("splits", output="splits", inputs=("index",), config=("splits",), version="1")


def run_splits(ws, cfg, folds: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """Make folds from the ``index`` table and write ``splits``; CLI options override the config.

    The options are validated and the folds made before fvc.yaml is saved, so
    a fold count the data cannot support is never persisted.
    """
    from ..config import save_config, with_options

    cfg = with_options(cfg, {"splits.folds": folds, "splits.seed": seed})
    splits = make_splits(ws.read("index"), folds=cfg.splits.folds, seed=cfg.splits.seed)
    save_config(ws, cfg)
    SPLITS.write(ws, cfg, splits)
    return splits
