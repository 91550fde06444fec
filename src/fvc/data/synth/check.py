"""Checks that a generated corpus is fair: content alone must not tell fake from real,
while forensic traces must.

``content_stats`` is what a shortcut-learning model could use (colour,
size, length, format); ``trace_stats`` are simple forensic measurements of
the traces the manipulations leave. ``grouped_auc`` scores either with
cross-validation grouped by cascade, as the real pipeline does.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ...video.io import iter_frames

CODECS = ("h264", "vp9", "hevc", "mpeg4")


def content_stats(path: str | Path, row: pd.Series) -> dict:
    """Mean colour, resolution, duration, fps, codec and audio: no manipulation evidence."""
    frames = [f for _, f in iter_frames(path, range(0, 200, 10))]
    mean = np.mean([f.reshape(-1, 3).mean(axis=0) for f in frames], axis=0)
    std = np.mean([f.std() for f in frames])
    out = {"mean_r": mean[0], "mean_g": mean[1], "mean_b": mean[2], "contrast": std,
           "width": row["width"], "height": row["height"], "duration": row["duration"], "fps": row["fps"],
           "audio": float(bool(row["has_audio"]))}
    out.update({f"codec_{c}": float(row["codec"] == c) for c in CODECS})
    return out


def trace_stats(path: str | Path, max_frames: int = 48) -> dict:
    """Noise residual, sharpness, 8x8 blocking, temporal jumps/duplicates, bits per pixel, GOP."""
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float32) for _, f in iter_frames(path, range(max_frames))]
    res, lap, block, incons = [], [], [], []
    for g in grey[::4]:
        r = g - cv2.medianBlur(g.astype(np.uint8), 3).astype(np.float32)
        res.append(r.std())
        h, w = (g.shape[0] // 16) * 16, (g.shape[1] // 16) * 16
        if h and w:
            e = r[:h, :w].reshape(h // 16, 16, w // 16, 16).std(axis=(1, 3))
            incons.append(np.std(np.log(e + 0.5)))
        lap.append(cv2.Laplacian(g, cv2.CV_32F).var() / (g.var() + 1.0))
        dx = np.abs(np.diff(g, axis=1))
        if dx.shape[1] > 16:
            cols = np.arange(dx.shape[1])
            block.append(dx[:, cols % 8 == 7].mean() / (dx[:, cols % 8 != 7].mean() + 1e-3))
    diffs = np.array([np.abs(a - b).mean() for a, b in zip(grey[1:], grey[:-1])]) if len(grey) > 1 else np.zeros(1)
    med = np.median(diffs) + 1e-3
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        keys = sizes = n = 0
        for pkt in c.demux(vs):
            if pkt.size:
                n += 1
                sizes += pkt.size
                keys += bool(pkt.is_keyframe)
        w, h = vs.codec_context.width, vs.codec_context.height
    return {"noise": float(np.mean(res)), "noise_incons": float(np.mean(incons)) if incons else 0.0,
            "sharpness": float(np.mean(lap)), "blockiness": float(np.mean(block)) if block else 1.0,
            "dup_frac": float(np.mean(diffs < 0.3)), "diff_cv": float(diffs.std() / med),
            "jump": float(diffs.max() / med), "bpp": sizes * 8.0 / max(1, n * w * h),
            "gop": n / max(1, keys)}


def _estimator(model: str, seed: int):
    if model == "gbm":
        return HistGradientBoostingClassifier(max_depth=3, max_iter=100, learning_rate=0.1, random_state=seed)
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))


def grouped_oof(features: pd.DataFrame, labels: np.ndarray, groups: np.ndarray, model: str = "logreg",
                folds: int = 5, seed: int = 0) -> tuple[float, float]:
    """(mean per-fold ROC-AUC, pooled out-of-fold ROC-AUC) under StratifiedGroupKFold.

    The per-fold mean is what ``fvc train`` reports. Pooling is shown too: with
    heavy-tailed cascades the folds' class balance differs, so pooled scores
    also reward or punish a model for the fold intercepts.
    """
    est = _estimator(model, seed)
    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    x = features.to_numpy(dtype=float)
    oof = np.full(len(labels), np.nan)
    scores = []
    for train, test in cv.split(x, labels, groups):
        est.fit(x[train], labels[train])
        oof[test] = est.predict_proba(x[test])[:, 1]
        if len(set(labels[test])) == 2:
            scores.append(roc_auc_score(labels[test], oof[test]))
    return float(np.mean(scores)), float(roc_auc_score(labels, oof))


def grouped_auc(features: pd.DataFrame, labels: np.ndarray, groups: np.ndarray, model: str = "logreg",
                folds: int = 5, seed: int = 0) -> float:
    """Mean per-fold ROC-AUC under StratifiedGroupKFold (no cascade in two folds)."""
    return grouped_oof(features, labels, groups, model, folds, seed)[0]


def labelled(manifest: pd.DataFrame) -> pd.DataFrame:
    """Rows with a binary label (fake 1, real 0); uncertain/debunked/parody left out."""
    m = manifest[manifest.label_raw.isin(["fake", "real"])].copy()
    m["y"] = (m.label_raw == "fake").astype(int)
    return m.reset_index(drop=True)
