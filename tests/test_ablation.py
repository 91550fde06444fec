"""fvc ablate: the model's own grouped CV without each feature family and with it alone, per manipulation kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fvc.cli import app
from fvc.experiment.ablation import TABLE, family, run_ablation
from fvc.report.ablation import ablation_scores, gains, kinds_of, section
from fvc.workspace import Workspace

N = 80
MODEL = "5beta-lgbm"


def kinds_workspace(root, seed: int = 0) -> Workspace:
    """Fakes of two kinds: 'blur' shows only in the noise_ family, 'patch' only in the lnoise_ family; dct_ is noise."""
    ws = Workspace(root).ensure()
    rng = np.random.default_rng(seed)
    i = np.arange(N)
    label = i % 2
    kind = np.where(label == 0, "none", np.where((i // 2) % 2 == 0, "blur", "patch"))
    cols = {
        "noise_level_mean": rng.normal(size=N) + 4.0 * (kind == "blur"),
        "noise_level_std": rng.normal(size=N),
        "lnoise_spread_mean": rng.normal(size=N) + 4.0 * (kind == "patch"),
        "lnoise_outlier_share": rng.normal(size=N),
        "dct_zero_ratio_mean": rng.normal(size=N),
    }
    vid = [f"v{k}" for k in i]
    groups = [f"g{k // 2}" for k in i]
    ws.write("features_stage2", pd.DataFrame({"video_id": vid, "source_video_id": vid, **cols, "error": None}))
    ws.write("splits", pd.DataFrame({"video_id": vid, "cascade_id": groups, "group_id": groups,
                                     "label": pd.array(label, dtype="Int64"), "fold": (i // 2) % 5}))
    ws.write("index", pd.DataFrame({"video_id": vid, "path": [f"raw/FVC1/{v}.mp4" for v in vid]}))
    ws.metadata_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"file_name": [f"{v}.mp4" for v in vid], "manipulation": kind}).to_csv(
        ws.metadata_dir / "ground_truth.csv", index=False)
    return ws


@pytest.fixture(scope="module")
def ablated(tmp_path_factory):
    ws = kinds_workspace(tmp_path_factory.mktemp("abl") / "ws")
    table, computed = run_ablation(ws, MODEL)
    return ws, table, computed


def test_family_of_a_column():
    assert family("lnoise_spread_mean") == "lnoise" and family("noise_level_mean") == "noise"
    assert family("s4_tdisc_spike_max") == "tdisc" and family("mv_available") == "mv"


def test_each_family_is_scored_on_the_kind_it_sees(ablated):
    ws, table, computed = ablated
    assert computed
    s = ablation_scores(table, kinds_of(ws)).set_index("variant")
    assert list(s.index) == ["all", "without noise", "without dct", "without lnoise", "only noise", "only dct",
                             "only lnoise"]
    assert s.loc["all", "features"] == 5 and s.loc["only lnoise", "features"] == 2
    assert s.loc["all", "blur"] > 0.9 and s.loc["all", "patch"] > 0.9
    # only the family that carries a kind's trace finds that kind
    assert s.loc["only noise", "blur"] > 0.9 and s.loc["only noise", "patch"] < 0.75
    assert s.loc["only lnoise", "patch"] > 0.9 and s.loc["only lnoise", "blur"] < 0.75
    assert s.loc["only dct", "overall"] < 0.75
    # removing a family loses the kind it saw, and not the other
    assert s.loc["without lnoise", "patch"] < 0.75 < s.loc["without lnoise", "blur"]
    assert s.loc["without noise", "blur"] < 0.75 < s.loc["without noise", "patch"]
    g = gains(ablation_scores(table, kinds_of(ws)))
    assert g.loc["lnoise", "patch"] > 0.2 and g.loc["noise", "blur"] > 0.2 and abs(g.loc["dct", "overall"]) < 0.1


def test_all_is_the_models_own_training_run(ablated, monkeypatch):
    from fvc.config import FvcConfig
    from fvc.experiment import default_run_config, run_experiment
    from fvc.experiment.feature_adapter import FeatureAdapter

    ws, table, _ = ablated
    fitted = []
    fit_fold = FeatureAdapter.fit_fold
    monkeypatch.setattr(FeatureAdapter, "fit_fold", lambda self, fold, *a: fitted.append(fold) or fit_fold(self, fold, *a))
    res = run_experiment(ws, FvcConfig(), default_run_config(MODEL))  # fvc train's run config
    assert fitted == []  # fvc train reuses the folds 'all' fitted: the two share one run key
    mine = table[table["variant"] == "all"].set_index("video_id")["prob"]
    theirs = res.oof.groupby("source_video_id")["prob"].mean()
    assert np.allclose(mine.sort_index(), theirs.sort_index())
    assert table[table["variant"] == "all"]["fold_mean_auc"].iloc[0] == pytest.approx(res.mean["roc_auc"])


def test_up_to_date_table_is_reused(ablated):
    ws, table, _ = ablated
    again, computed = run_ablation(ws, MODEL)
    assert not computed and again.equals(table)
    shown = section(ws)
    assert not shown["stale"] and [r["variant"] for r in shown["rows"]][:2] == ["all", "without noise"]


@pytest.mark.slow
def test_a_changed_input_recomputes(tmp_path):
    other = kinds_workspace(tmp_path / "ws2", seed=1)
    _, first = run_ablation(other, MODEL)
    feats = other.read("features_stage2")
    feats["lnoise_spread_mean"] = 0.0  # the patch kind loses its trace
    other.write("features_stage2", feats)
    assert section(other)["stale"]  # the report says the table is out of date
    changed, computed = run_ablation(other, MODEL)
    assert first and computed
    s = ablation_scores(changed, kinds_of(other)).set_index("variant")
    assert s.loc["all", "patch"] < 0.75


def test_cli_prints_the_table_and_refuses_a_deep_model(ablated, capsys):
    from fvc.cli import main

    ws = ablated[0]
    r = CliRunner().invoke(app, ["ablate", "-w", str(ws.root)])
    assert r.exit_code == 0, r.output
    assert "up to date" in r.output and "only lnoise" in r.output and "patch" in r.output
    with pytest.raises(SystemExit) as exc:
        main(["ablate", "-w", str(ws.root), "--model", "5c"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "5c is a deep model" in err and ws.has(TABLE)
