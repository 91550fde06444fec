"""The report's numbers: ROC-AUC with a cascade-level bootstrap CI, equal-count calibration, ties.

Near-duplicate videos share a cascade, so resampling single videos would
pretend to more independent evidence than there is: the bootstrap draws whole
cascades. A draw is a vector of cascade counts, turned into row weights, so
every draw's AUC comes from one matrix product instead of a re-sort.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

N_BOOT = 1000
CHANCE_AUC = 0.5


@dataclass(frozen=True)
class AucCI:
    """Mean over folds of the per-fold ROC-AUC, and its 95% percentile interval."""

    mean: float
    low: float
    high: float
    draws: int
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)  # the draws' fold-mean AUCs

    @property
    def includes_chance(self) -> bool:
        return self.low <= CHANCE_AUC <= self.high


def weighted_auc(label: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC (ties count one half) for each row of ``weights`` (draws x videos); NaN without both classes."""
    label = np.asarray(label).astype(bool)
    score = np.asarray(score, dtype=float)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    pos, neg = score[label], score[~label]
    pairs = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    wp, wn = w[:, label], w[:, ~label]
    num = np.sum((wp @ pairs) * wn, axis=1)  # sum over fake i, real j of w_i * w_j * [i ranked above j]
    den = wp.sum(axis=1) * wn.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def fold_mean_auc_ci(oof: pd.DataFrame, n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95) -> AucCI | None:
    """Mean per-fold ROC-AUC of video-level OOF predictions, CI from resampling cascades within each fold.

    ``oof`` needs ``fold``, ``group`` (the cascade / split group), ``label`` and ``prob``.
    Cascades are drawn with replacement inside their fold (each cascade sits in one fold),
    so every draw keeps the CV design. None when no fold has both classes.
    """
    rng = np.random.default_rng(seed)
    point, draws = [], []
    for _, part in oof.groupby("fold", sort=True):
        y, p = part["label"].to_numpy(), part["prob"].to_numpy()
        if len(np.unique(y)) < 2:
            continue
        codes, uniques = pd.factorize(part["group"])
        counts = rng.multinomial(len(uniques), np.full(len(uniques), 1.0 / len(uniques)), size=n_boot)
        point.append(weighted_auc(y, p, np.ones(len(y)))[0])
        draws.append(weighted_auc(y, p, counts[:, codes]))
    if not point:
        return None
    means = np.nanmean(np.vstack(draws), axis=0)
    alpha = (1.0 - level) / 2
    low, high = np.nanquantile(means, [alpha, 1.0 - alpha])
    return AucCI(float(np.mean(point)), float(low), float(high), n_boot, means)


def calibration_bins(label: np.ndarray, prob: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Equal-count bins of predicted P(fake): mean prediction, observed fake fraction, videos per bin.

    Equal-width bins leave most bins empty when a model's scores cluster; equal
    counts give every point the same weight of evidence.
    """
    order = np.argsort(np.asarray(prob, dtype=float), kind="stable")
    y, p = np.asarray(label, dtype=float)[order], np.asarray(prob, dtype=float)[order]
    parts = [ix for ix in np.array_split(np.arange(len(p)), min(n_bins, len(p))) if len(ix)]
    return pd.DataFrame({"mean_prob": [p[ix].mean() for ix in parts], "frac_fake": [y[ix].mean() for ix in parts],
                         "n": [len(ix) for ix in parts]})


def brier(label: np.ndarray, prob: np.ndarray) -> float:
    return float(np.mean((np.asarray(prob, dtype=float) - np.asarray(label, dtype=float)) ** 2))


def tie_groups(values: list[float | None], digits: int = 3) -> list[int | None]:
    """For each value, an id shared with every other value equal at ``digits`` decimals (None: no tie)."""
    rounded = [None if v is None or np.isnan(v) else round(v, digits) for v in values]
    seen: dict[float, int] = {}
    counts = pd.Series([r for r in rounded if r is not None]).value_counts()
    out: list[int | None] = []
    for r in rounded:
        if r is None or counts.get(r, 0) < 2:
            out.append(None)
        else:
            out.append(seen.setdefault(r, len(seen) + 1))
    return out
