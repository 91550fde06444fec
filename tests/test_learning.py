"""Learning, end to end, for a feature model: videos -> `fvc features --stage 2` -> grouped 5-fold CV (5beta-lgbm).

The fixture is the deep tests' noisy-fake corpus (fakes carry pixel noise, reals are smooth moving
gradients). The held-out folds must separate them (ROC-AUC > 0.8), not merely score in [0, 1]: a constant, a
shuffled or an inverted prediction, or features that do not see the noise, score 0.5 or below. (The deep
smoke model's counterpart is ``test_deep_cv.test_a_deep_smoke_model_learns_the_noisy_fakes``.)
"""

from __future__ import annotations

import pandas as pd
from _deep_fixtures import write_letterboxed

from fvc.config import FvcConfig
from fvc.experiment import RunConfig, run_experiment
from fvc.features.stage import run_features
from fvc.workspace import Workspace

PER_CLASS, FOLDS = 10, 5


def noisy_fake_workspace(root) -> Workspace:
    """index + splits of 2 * PER_CLASS generated videos, one cascade each, both classes in every fold."""
    ws = Workspace(root).ensure()
    index, splits = [], []
    for label in (1, 0):
        for i in range(PER_CLASS):
            vid = f"{'f' if label else 'r'}{i}"
            orig = (64, 36) if i % 2 == 0 else (36, 64)
            write_letterboxed(root / "videos" / f"{vid}.mp4", bool(label), seed=i + 10 * label, orig=orig)
            index.append({"video_id": vid, "path": f"videos/{vid}.mp4", "cascade_id": vid, "error": None})
            splits.append({"video_id": vid, "cascade_id": vid, "group_id": vid, "label": label, "fold": i % FOLDS})
    ws.write("index", pd.DataFrame(index))
    sp = pd.DataFrame(splits)
    sp["label"] = sp["label"].astype("Int64")
    ws.write("splits", sp)
    return ws


def test_a_feature_model_learns_the_noisy_fakes_from_extracted_features(tmp_path):
    ws = noisy_fake_workspace(tmp_path / "ws")
    cfg = FvcConfig()
    run_features(ws, cfg, 2)
    feats = ws.read("features_stage2")
    assert len(feats) == 2 * PER_CLASS and feats["error"].isna().all()
    # the catalog's LightGBM as its preset builds it, without the search (5a's permutation importance alone
    # would take half a minute here)
    res = run_experiment(ws, cfg, RunConfig(model="5beta-lgbm", grid={}, refit_final=False), [])
    assert sorted(res.oof["video_id"]) == sorted(feats["video_id"])
    assert res.summary["pooled"]["roc_auc"] > 0.8
