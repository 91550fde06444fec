import re

import matplotlib.pyplot as plt
from typer.testing import CliRunner

from fvc.cli import app
from fvc.config import FvcConfig
from fvc.report import build_report
from fvc.experiment import default_run_config, run_experiment
from fvc.experiment.result_files import build_summary, save_cv_result

from test_cv import make_ws


def test_report_is_self_contained_and_lists_all_results(tmp_path):
    ws = make_ws(tmp_path / "ws", n=40, signal=3.0)
    rc = default_run_config("5a", grid={"clf__C": [1.0]})
    run_experiment(ws, FvcConfig(), rc)
    # a deep model's results written by another trainer, same layout
    oof = ws.read("features_stage2")[["video_id", "source_video_id", "fold", "label"]].assign(prob=0.5)
    oof["prob"] = 0.8 - oof["label"].astype(float) * 0.6  # inverted: ROC-AUC 0
    save_cv_result(ws, build_summary("5c", oof, config_hash="abc123"), oof)
    # a dataset plot like the ones 'fvc index' writes
    ws.plots_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    fig.savefig(ws.plots_dir / "durations.png")
    plt.close(fig)

    path, best = build_report(ws)
    page = path.read_text()
    assert best["model_id"] == "5a"  # the comparison picks the higher mean ROC-AUC
    assert "<table id=\"cmp\"" in page and ">5a<" in page and ">5c<" in page
    assert "function sortTable" in page and "durations.png" in page
    assert len(re.findall(r"data:image/png;base64,", page)) >= 7  # 3 curves, folds, 2 confusions, importance, plot
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing fetched from the network


def test_report_cli_on_empty_workspace(tmp_path):
    r = CliRunner().invoke(app, ["report", "-w", str(tmp_path / "ws")])
    assert r.exit_code == 0, r.output
    assert "No results yet" in (tmp_path / "ws" / "artifacts" / "report.html").read_text()
