"""DuckDB analytics over generated workspace tables: views, named queries, errors."""

from __future__ import annotations

import json
import numpy as np
import pandas as pd
import pytest

from fvc.analytics import NAMED_QUERIES, connect, list_queries, named_sql, run_named
from fvc.analytics.output import write_output
from fvc.analytics.results import flatten, load_results
from fvc.errors import FvcError, InputError
from fvc.workspace import Workspace


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("ws")).ensure()
    rng = np.random.default_rng(0)
    n = 12
    ids = [f"v{i}" for i in range(n)]
    label = pd.array([1, 0] * (n // 2), dtype="Int64")
    label[10] = pd.NA
    index = pd.DataFrame({
        "video_id": ids, "label": label, "label_raw": ["fake", "real"] * 5 + ["parody", "real"],
        "codec": ["h264"] * 8 + ["vp9", "vp9", "hevc", None],
        "width": [64] * 12, "height": [48] * 11 + [36], "fps": [25.0] * 12, "duration": [1.0] * 12,
        "error": [None] * 11 + ["v11.mp4: cannot decode"],
    })
    ws.write("index", index)
    ws.write("splits", pd.DataFrame({
        "video_id": ids, "cascade_id": ids, "group_id": [f"g{i // 2}" for i in range(n)],
        "label": label, "fold": [i % 3 for i in range(n)],
    }))
    feats = pd.DataFrame({
        "video_id": ids, "source_video_id": ids, "fold": [i % 3 for i in range(n)], "label": label,
        # fake rows have clearly larger noise energy; blur is pure noise
        "noise_mean": np.where(np.arange(n) % 2 == 0, 5.0, 1.0) + rng.normal(0, 0.1, n),
        "blur_lap_var": rng.normal(0, 1, n),
        "codec_name": ["h264"] * n,  # text column: not a feature for the stats
        "error": [None] * 11 + ["decode failed"],
    })
    ws.write("features_stage2", feats)
    for model, auc in (("5a", 0.81), ("5b", 0.92)):
        d = ws.results_dir / model
        d.mkdir(parents=True)
        (d / "metrics.json").write_text(json.dumps({
            # the layout of fvc.experiment.result_files.build_summary
            "model_id": model, "family": "features", "n_videos": 10,
            "mean": {"roc_auc": auc, "f1": 0.7}, "std": {"roc_auc": 0.03, "f1": 0.1}, "pooled": {"roc_auc": 0.5},
            "folds": [{"fold": 0, "roc_auc": auc}], "confusion_matrix": [[3, 1], [1, 3]],
        }))
        pd.DataFrame({"video_id": ids[:10], "fold": [i % 3 for i in range(10)],
                      "label": [1, 0] * 5, "prob": np.linspace(0.05, 0.95, 10)}).to_parquet(
            d / "oof_predictions.parquet")
    logd = ws.root / "experiments"
    logd.mkdir()
    events = [
        {"ts": "2024-01-01T00:00:00", "run_id": "r1", "event": "run_start", "model_id": "5a", "data": {}},
        {"ts": "2024-01-01T00:00:01", "run_id": "r1", "event": "fold_end", "model_id": "5a", "fold": 0,
         "data": {"roc_auc": 0.8}},
        {"ts": "2024-01-01T00:00:02", "run_id": "r1", "event": "run_end", "model_id": "5a", "data": {}},
    ]
    (logd / "r1.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return ws


def test_views_cover_every_table(ws):
    with connect(ws) as an:
        assert {"index", "splits", "features_stage2", "results", "predictions", "experiment_log"} <= set(an.views)
        assert "scaled" not in an.views  # missing tables simply have no view
        assert an.sql('SELECT count(*) AS n FROM "index"')["n"][0] == 12
        preds = an.sql("SELECT model_id, count(*) AS n FROM predictions GROUP BY 1 ORDER BY 1")
        assert preds.to_dict("list") == {"model_id": ["5a", "5b"], "n": [10, 10]}
        res = an.sql('SELECT model_id, "mean.roc_auc" AS auc FROM results ORDER BY model_id')
        assert res["auc"].tolist() == [0.81, 0.92]
        log = an.sql("SELECT event, fold FROM experiment_log ORDER BY ts")
        assert log["event"].tolist() == ["run_start", "fold_end", "run_end"]


def test_flatten_keeps_lists_as_json():
    flat = flatten({"a": {"b": 1, "c": {"d": 2}}, "m": [[1, 2], [3, 4]]})
    assert flat == {"a.b": 1, "a.c.d": 2, "m": "[[1, 2], [3, 4]]"}


def test_bad_metrics_json_names_the_file(tmp_path):
    (tmp_path / "5x").mkdir()
    (tmp_path / "5x" / "metrics.json").write_text("{not json")
    with pytest.raises(InputError, match="5x/metrics.json"):
        load_results(tmp_path)


def test_cv_summary_orders_by_auc(ws):
    with connect(ws) as an:
        df = run_named(an, "cv_summary")
    assert df["model_id"].tolist() == ["5b", "5a"]
    assert df["roc_auc_mean"].tolist() == [0.92, 0.81]
    compact = {"model_id", "family", "preset", "roc_auc_mean", "roc_auc_std", "pr_auc_mean", "f1_mean", "brier_mean",
               "n_videos"}
    assert {"roc_auc_std", "f1_mean", "family", "n_videos"} <= set(df.columns) <= compact
    with connect(ws) as an:
        full = run_named(an, "cv_summary_full")
    assert full["model_id"].tolist() == ["5b", "5a"]
    assert set(full.columns) - compact  # the rest of the metrics (and std columns) only here


def test_feature_stats_by_label(ws):
    with connect(ws) as an:
        df = run_named(an, "feature_stats_by_label")
    assert set(df["feature"]) == {"noise_mean", "blur_lap_var"}  # text/key columns excluded
    top = df.iloc[0]
    assert top["feature"] == "noise_mean" and top["effect_size"] > 5
    # the failed row and the unlabeled row are left out: 10 rows, 5 per class
    assert top["n_fake"] == 5 and top["n_real"] == 5


def test_failures_and_codecs(ws):
    with connect(ws) as an:
        fail = run_named(an, "failures_by_stage").set_index("stage")
        codec = run_named(an, "codec_by_label").set_index("codec")
        folds = run_named(an, "fold_balance")
        worst = run_named(an, "worst_predictions")
    assert fail.loc["index", "n_failed"] == 1 and fail.loc["features_stage2", "n_failed"] == 1
    assert fail.loc["features_stage2", "most_common_error"] == "decode failed"
    assert codec.loc["h264", "fake"] == 4 and codec.loc["h264", "real"] == 4
    assert codec.loc["hevc", "excluded"] == 1 and codec.loc["(unreadable)", "total"] == 1
    assert folds["videos"].sum() == 12
    assert worst["error"].is_monotonic_decreasing and len(worst) == 20


def test_every_named_query_runs_or_says_what_is_missing(ws):
    with connect(ws) as an:
        ready = {r["name"]: r["ready"] for r in list_queries(an)}
        for name in NAMED_QUERIES:
            if ready[name] == "yes":
                assert isinstance(run_named(an, name), pd.DataFrame)
            else:
                with pytest.raises(FvcError, match="needs the"):
                    named_sql(an, name)


def test_unknown_table_and_bad_sql_are_one_line(ws):
    with connect(ws) as an:
        with pytest.raises(FvcError) as err:
            an.sql("SELECT * FROM nosuch")
        msg = str(err.value)
        assert "unknown table 'nosuch'" in msg and "index" in msg and "\n" not in msg
        with pytest.raises(FvcError) as err:
            an.sql("SELEC 1")
        assert str(err.value).startswith("bad SQL: Parser Error") and "\n" not in str(err.value)


def test_write_output(tmp_path):
    df = pd.DataFrame({"a": [1, 2]})
    assert pd.read_csv(write_output(df, tmp_path / "x.csv"))["a"].tolist() == [1, 2]
    assert pd.read_parquet(write_output(df, tmp_path / "x.parquet"))["a"].tolist() == [1, 2]
    with pytest.raises(InputError, match="unsupported output format"):
        write_output(df, tmp_path / "x.xlsx")


def _fvc(capsys, *args):
    """Run the CLI in-process through main(), as the console script does."""
    from fvc.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_cli_query(ws, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    dest = tmp_path / "summary.csv"
    code, out, err = _fvc(capsys, "query", "--name", "cv_summary", "--out", str(dest), "-w", str(ws.root))
    assert code == 0, err
    assert pd.read_csv(dest)["model_id"].tolist() == ["5b", "5a"]
    sql = "SELECT label_raw, count(*) AS n FROM \"index\" GROUP BY 1"
    code, out, err = _fvc(capsys, "query", sql, "-w", str(ws.root))
    assert code == 0 and "parody" in out
    code, out, err = _fvc(capsys, "query", "--list", "-w", str(ws.root))
    assert code == 0 and "cv_summary" in out and "features_stage2" in out
    code, out, err = _fvc(capsys, "query", "SELECT * FROM missing_table", "-w", str(ws.root))
    assert code == 2 and "Traceback" not in err
    assert "unknown table 'missing_table'" in err and len(err.strip().splitlines()) == 1
    code, out, err = _fvc(capsys, "query", "SELECT FROM WHERE", "-w", str(ws.root))
    assert code == 2 and "bad SQL" in err and "Traceback" not in err
