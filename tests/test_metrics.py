import math

import numpy as np
import pandas as pd
import pytest

from fvc.training.metrics import aggregate_by_video, binary_metrics, equal_error_rate, json_safe, summarize_folds


def test_perfect_and_inverted_predictions():
    y = [0, 0, 1, 1]
    m = binary_metrics(y, [0.1, 0.2, 0.8, 0.9])
    assert m["roc_auc"] == 1.0 and m["accuracy"] == 1.0 and m["eer"] == 0.0
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (2, 0, 0, 2)
    inv = binary_metrics(y, [0.9, 0.8, 0.2, 0.1])
    assert inv["roc_auc"] == 0.0 and inv["eer"] == 1.0
    assert (inv["tn"], inv["fp"], inv["fn"], inv["tp"]) == (0, 2, 2, 0)


def test_metric_values_match_hand_computation():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.2, 0.6, 0.1, 0.7, 0.4, 0.9])
    m = binary_metrics(y, p)
    # predictions at 0.5: 0 1 0 1 0 1 -> tn=2 fp=1 fn=1 tp=2
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (2, 1, 1, 2)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(2 / 3)
    assert m["brier"] == pytest.approx(np.mean((p - y) ** 2))
    # 8 of 9 positive/negative pairs are ordered correctly (0.4 < 0.6 is the miss)
    assert m["roc_auc"] == pytest.approx(8 / 9)
    assert 0.0 < m["eer"] < 0.5


def test_eer_of_random_scores_is_near_half():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    assert equal_error_rate(y, rng.random(4000)) == pytest.approx(0.5, abs=0.05)


def test_one_class_fold_gives_nan_auc_not_a_crash():
    m = binary_metrics([1, 1, 1], [0.2, 0.7, 0.9])
    assert math.isnan(m["roc_auc"]) and m["recall"] == pytest.approx(2 / 3)
    assert json_safe(m)["roc_auc"] is None


def test_bad_input_rejected():
    with pytest.raises(ValueError, match=r"y_true has \(2,\) values, y_prob has \(1,\)"):
        binary_metrics([0, 1], [0.5])
    with pytest.raises(ValueError, match="y_prob contains NaN or infinite values"):
        binary_metrics([0, 1], [0.5, float("nan")])


def test_summarize_folds_mean_std_ignores_nan():
    s = summarize_folds([{"fold": 0, "roc_auc": 0.8, "n": 10}, {"fold": 1, "roc_auc": 0.6, "n": 12},
                         {"fold": 2, "roc_auc": float("nan"), "n": 3}])
    assert s["mean"]["roc_auc"] == pytest.approx(0.7)
    assert s["std"]["roc_auc"] == pytest.approx(np.std([0.8, 0.6], ddof=1))
    assert "fold" not in s["mean"]


def test_aggregate_by_video_averages_copies():
    df = pd.DataFrame({"video_id": ["a0", "a1", "b0"], "source_video_id": ["a", "a", "b"],
                       "fold": [0, 0, 1], "label": [1, 1, 0], "prob": [0.2, 0.8, 0.3]})
    out = aggregate_by_video(df).set_index("source_video_id")
    assert out.loc["a", "prob"] == pytest.approx(0.5) and out.loc["a", "n_rows"] == 2
    assert out.loc["b", "fold"] == 1
    bad = df.assign(label=[1, 0, 0])
    with pytest.raises(ValueError, match="different labels"):
        aggregate_by_video(bad)
