"""No shortcut: content-only statistics must not tell fake from real under grouped CV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fvc.data.synth import build_corpus
from fvc.data.synth.check import content_stats, grouped_oof, labelled


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_check")
    return build_corpus(out, n_videos=96, seed=11, password="pw", keep_videos=True, max_height=32,
                        max_duration=0.6, workers=2)


def test_content_only_classifier_is_near_chance(corpus):
    m = labelled(corpus)
    assert m.y.nunique() == 2 and m.cascade_id.nunique() >= 20
    content = pd.DataFrame([content_stats(p, row) for p, (_, row) in zip(m.path, m.iterrows())])
    y, groups = m.y.to_numpy(), m.cascade_id.to_numpy()
    # Several fold shuffles: one split of ~25 cascades is too noisy to judge a corpus by.
    per_fold, pooled = zip(*(grouped_oof(content, y, groups, "logreg", seed=s) for s in range(5)))
    print(f"content-only grouped-CV ROC-AUC: per-fold mean {np.mean(per_fold):.3f}, pooled OOF {np.mean(pooled):.3f}")
    assert np.mean(per_fold) < 0.65
    assert np.mean(pooled) < 0.65


def test_no_scene_region_is_shared_between_cascades(corpus):
    from fvc.data.synth.corpus import plan_corpus

    jobs = [j for j in plan_corpus(200, 5) if j.scene is not None]
    views = {}
    for j in jobs:
        views.setdefault((j.scene.image, j.scene.crop[:2], j.scene.hflip), set()).add(j.cascade_id)
    # a scene view (photograph, region, mirroring) belongs to exactly one cascade
    assert all(len(c) == 1 for c in views.values())
    by_image = {}
    for j in jobs:
        by_image.setdefault(j.scene.image, {})[j.cascade_id] = j.scene.crop[:2]
    for image, cells in by_image.items():
        pts = np.array(list(cells.values()))
        if len(pts) > 1:
            d = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1)) + np.eye(len(pts))
            assert d.min() > 0.15, image  # regions of one photograph are far apart


@pytest.mark.slow
def test_stage2_features_learn_the_corpus_and_content_does_not(tmp_path):
    """The real stage-2 extractor on a generated corpus: grouped CV separates fake from real, content cannot."""
    from fvc.config import FeaturesConfig
    from fvc.features.columns import feature_columns
    from fvc.features.extract import video_features

    m = labelled(build_corpus(tmp_path, n_videos=96, seed=5, password="pw", keep_videos=True, max_height=240,
                              max_duration=4.0, workers=2))
    assert m.cascade_id.nunique() >= 55
    feats = pd.DataFrame([video_features(p, FeaturesConfig()) for p in m.path])
    x = feats[feature_columns(feats.columns)].fillna(0.0)
    content = pd.DataFrame([content_stats(p, row) for p, (_, row) in zip(m.path, m.iterrows())])
    y, groups = m.y.to_numpy(), m.cascade_id.to_numpy()
    traces = max(np.mean([grouped_oof(x, y, groups, model, seed=s)[0] for s in range(3)]) for model in ("gbm", "logreg"))
    shortcut = np.mean([grouped_oof(content, y, groups, "logreg", seed=s)[0] for s in range(3)])
    print(f"stage-2 features {traces:.3f}, content only {shortcut:.3f}")
    assert traces > 0.8 and shortcut < 0.65
