"""The card's summary of the training videos and the out-of-distribution distance measured against it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fvc.models.training_summary import IQR_TO_SIGMA, MAX_Z, RMS_Z, distance, summarize


def test_median_and_robust_spread_per_column():
    rows = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 100.0], "b": [5.0] * 5, "c": [0.0, 0.0, 0.0, 0.0, 1.0]})
    s = summarize(rows, ["a", "b", "c"])
    assert s["n_videos"] == 5 and s["columns"] == ["a", "b", "c"]
    assert s["median"] == [3.0, 5.0, 0.0]
    assert s["spread"][0] == pytest.approx(2.0 / IQR_TO_SIGMA)  # IQR 2..4, the outlier 100 ignored
    assert s["spread"][1] == pytest.approx(5e-3)  # constant in training: a tiny floor, so any change is far
    assert s["spread"][2] == pytest.approx(0.4)  # IQR 0 but not constant: the standard deviation


def test_distance_in_robust_z():
    s = summarize(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0], "b": [0.0, 1.0, 2.0, 3.0, 4.0]}), ["a", "b"])
    near = distance(s, {"a": 3.0, "b": 2.0 + 2.0 / IQR_TO_SIGMA})  # b one robust sigma out
    assert near["available"] and not near["warning"]
    assert near["max_z"] == pytest.approx(1.0) and near["rms_z"] == pytest.approx(np.sqrt(0.5))
    assert near["farthest"][0] == {"feature": "b", "z": pytest.approx(1.0)}
    far = distance(s, {"a": 3.0 + (MAX_Z + 1) * 2.0 / IQR_TO_SIGMA, "b": 2.0})
    assert far["warning"] and far["farthest"][0]["feature"] == "a" and far["rms_z"] < RMS_Z * 3


def test_unmeasured_features_are_left_out_not_counted_as_typical():
    s = summarize(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]}), ["a", "b"])
    d = distance(s, {"a": 2.0 + 5 * 2.0 / IQR_TO_SIGMA / 2, "b": None})
    assert d["n_features"] == 1 and d["rms_z"] == pytest.approx(d["max_z"])
    assert not distance(s, {"a": float("nan")})["available"]


def test_no_summary_is_said_not_guessed():
    d = distance({}, {"a": 1.0})
    assert not d["available"] and not d["warning"] and "retrain" in d["reason"]


def test_thresholds_come_from_the_training_videos_own_spread():
    rng = np.random.default_rng(0)
    heavy = pd.DataFrame({"a": rng.standard_t(2, size=400), "b": rng.normal(size=400)})
    s = summarize(heavy, ["a", "b"])
    own = [distance(s, r)["warning"] for r in heavy.to_dict("records")]
    assert np.mean(own) <= 0.02  # a heavy-tailed training set does not flag its own videos
    assert s["thresholds"]["max_z"] > MAX_Z and s["thresholds"]["rms_z"] >= RMS_Z
    assert distance(s, {"a": 0.0, "b": 0.0})["thresholds"] == s["thresholds"]
    assert distance(s, {"a": 0.0, "b": 5 * s["thresholds"]["max_z"]})["warning"]
