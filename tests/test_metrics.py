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


def _average_precision(y, p) -> float:
    """Step-wise AP from its definition: sum over distinct thresholds, high to low, of recall gain x precision."""
    ap, prev_recall = 0.0, 0.0
    for t in sorted(set(p), reverse=True):
        pred = p >= t
        tp = np.sum(pred & (y == 1))
        recall = tp / np.sum(y == 1)
        ap += (recall - prev_recall) * tp / np.sum(pred)
        prev_recall = recall
    return ap


def test_every_metric_against_its_formula():
    """Ties at the threshold (>= counts as fake), confident mistakes (log loss clipped at 1e-7), every key."""
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    p = np.array([0.0, 0.5, 0.3, 0.5, 0.9, 1.0, 0.0, 1.0])
    m = binary_metrics(y, p)
    tn, fp, fn, tp = 2, 2, 1, 3  # at 0.5: 0 1 0 1 1 1 0 1
    assert (m["tn"], m["fp"], m["fn"], m["tp"]) == (tn, fp, fn, tp)
    pairs = [(a > b) + 0.5 * (a == b) for a in p[y == 1] for b in p[y == 0]]
    pc = np.clip(p, 1e-7, 1 - 1e-7)
    expected = {
        "n": 8, "n_pos": 4, "threshold": 0.5,
        "accuracy": (tp + tn) / 8,
        "balanced_accuracy": (tp / (tp + fn) + tn / (tn + fp)) / 2,
        "precision": tp / (tp + fp), "recall": tp / (tp + fn), "f1": 2 * tp / (2 * tp + fp + fn),
        "roc_auc": np.mean(pairs), "pr_auc": _average_precision(y, p),
        "log_loss": -np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc)),
        "brier": np.mean((p - y) ** 2),
    }
    assert set(m) == set(expected) | {"eer", "tn", "fp", "fn", "tp"}
    for key, value in expected.items():
        assert m[key] == pytest.approx(value, rel=1e-9), key
    assert 0.0 < m["eer"] < 1.0
    low = binary_metrics(y, p, threshold=0.3)  # 0.3 now counts as fake too
    assert low["threshold"] == 0.3 and (low["tn"], low["fp"], low["fn"], low["tp"]) == (1, 3, 1, 3)


def test_eer_is_interpolated_where_the_error_rates_cross():
    # ROC corners (0,0) (0,2/3) (1/3,2/3) (1/3,1) (1,1): FNR = 1 - TPR meets FPR at 1/3
    assert equal_error_rate(np.array([0, 0, 0, 1, 1, 1]), np.array([0.2, 0.6, 0.1, 0.7, 0.4, 0.9])) == \
        pytest.approx(1 / 3)
    # one negative among the positives: FPR 1/2 and FNR 1/2 cross half-way along a ROC segment
    assert equal_error_rate(np.array([0, 0, 1, 1]), np.array([0.1, 0.6, 0.4, 0.9])) == pytest.approx(0.5)
    # a tie of one negative and two positives at 0.5 is a diagonal ROC segment from (0, 1/3) to (1/2, 1):
    # FPR - FNR goes from -2/3 to +1/2 along it, so they meet 4/7 of the way, at FPR 2/7
    assert equal_error_rate(np.array([0, 0, 1, 1, 1]), np.array([0.2, 0.5, 0.5, 0.5, 0.9])) == pytest.approx(2 / 7)
    assert math.isnan(equal_error_rate(np.array([1, 1]), np.array([0.2, 0.9])))


def test_no_predicted_fakes_and_a_single_fake():
    m = binary_metrics([0, 1, 0], [0.1, 0.4, 0.2])  # nothing reaches the threshold: no predicted fake
    assert (m["precision"], m["recall"], m["f1"]) == (0.0, 0.0, 0.0)
    assert m["pr_auc"] == pytest.approx(1.0) and m["roc_auc"] == pytest.approx(1.0)  # one fake, ranked first


def test_one_class_folds_and_empty_input():
    reals = binary_metrics([0, 0, 0], [0.2, 0.7, 0.1])
    for key in ("roc_auc", "balanced_accuracy", "pr_auc", "eer"):
        assert math.isnan(reals[key]), key
    assert reals["n_pos"] == 0 and reals["fp"] == 1 and reals["accuracy"] == pytest.approx(2 / 3)
    fakes = binary_metrics([1, 1], [0.6, 0.9])
    assert fakes["pr_auc"] == pytest.approx(1.0) and math.isnan(fakes["roc_auc"])
    with pytest.raises(ValueError, match="no predictions to score"):
        binary_metrics([], [])


def test_summarize_folds_edge_cases():
    assert summarize_folds([]) == {"mean": {}, "std": {}}
    one = summarize_folds([{"fold": 0, "roc_auc": 0.7, "model": "5a"}])
    assert one == {"mean": {"roc_auc": 0.7}, "std": {"roc_auc": 0.0}}  # text and the fold number are not metrics
    none = summarize_folds([{"roc_auc": float("nan")}, {"roc_auc": float("nan")}])
    assert math.isnan(none["mean"]["roc_auc"]) and math.isnan(none["std"]["roc_auc"])
    gap = summarize_folds([{"n": 4, "eer": 0.2}, {"n": 6}, {"n": np.int64(8), "eer": 0.4}])
    assert gap["mean"] == {"n": pytest.approx(6.0), "eer": pytest.approx(0.3)}
    assert gap["std"]["n"] == pytest.approx(2.0) and gap["std"]["eer"] == pytest.approx(np.std([0.2, 0.4], ddof=1))


def test_json_safe_makes_strict_json():
    import json

    obj = {1: [np.float32("nan"), float("inf"), -np.inf, 0.5], "t": (np.int64(3), np.bool_(True)),
           "d": {"x": np.float64(2.5), "s": "text", "none": None}}
    out = json_safe(obj)
    assert out == {"1": [None, None, None, 0.5], "t": [3, True], "d": {"x": 2.5, "s": "text", "none": None}}
    assert type(out["t"][0]) is int and type(out["t"][1]) is bool and type(out["d"]["x"]) is float
    json.dumps(out, allow_nan=False)


def test_aggregate_by_video_is_sorted_and_needs_its_key():
    df = pd.DataFrame({"source_video_id": ["b", "a", "b"], "prob": [0.2, 0.6, 0.4]})
    out = aggregate_by_video(df)
    assert list(out["source_video_id"]) == ["a", "b"] and list(out["n_rows"]) == [1, 2]
    assert out["prob"].tolist() == pytest.approx([0.6, 0.3]) and set(out.columns) == {"source_video_id", "prob", "n_rows"}
    with pytest.raises(ValueError, match="column 'video' missing"):
        aggregate_by_video(df, key="video")
