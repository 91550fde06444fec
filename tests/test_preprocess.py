import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from fvc.training.preprocess import CorrelationFilter, NearConstantFilter, build_pipeline, selected_features


def _frame():
    rng = np.random.default_rng(0)
    a = rng.normal(size=100)
    return pd.DataFrame({
        "a": a,
        "a_copy": 2 * a + 0.01 * rng.normal(size=100),  # |r| > 0.95 with a
        "b": rng.normal(size=100),
        "const": np.ones(100),
        "almost": np.r_[np.zeros(99), 1.0],
        "holes": np.where(rng.random(100) < 0.2, np.nan, rng.normal(size=100)),
    })


def test_correlation_filter_drops_later_collinear_column():
    X = _frame()[["a", "a_copy", "b"]]
    f = CorrelationFilter(0.95).fit(X)
    assert list(f.get_feature_names_out()) == ["a", "b"]
    assert list(f.transform(X).columns) == ["a", "b"]
    assert f.transform(X.to_numpy()).shape == (100, 2)


def test_near_constant_filter():
    X = _frame()[["const", "almost", "b"]]
    assert list(NearConstantFilter(0.98).fit(X).get_feature_names_out()) == ["b"]


def test_pipeline_imputes_scales_and_filters():
    X = _frame()
    y = (X["a"] > 0).astype(int).to_numpy()
    pipe = build_pipeline(LogisticRegression()).fit(X, y)
    assert selected_features(pipe, X.columns) == ["a", "b", "holes"]
    Xt = pipe[:-1].transform(X)
    assert not np.isnan(np.asarray(Xt, dtype=float)).any()
    np.testing.assert_allclose(np.asarray(Xt, dtype=float).mean(axis=0), 0, atol=1e-9)
    # the imputer learnt the median of the training rows only
    assert pipe.named_steps["impute"].statistics_[5] == np.nanmedian(X["holes"])
