import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _report_fixtures import report_workspace
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from fvc.cli import app
from fvc.report import build_report
from fvc.report.colours import DARK_TEXT, LIGHT_TEXT, auc_style, contrast, fill, text_on
from fvc.report.stats import (
    calibration_bins,
    fold_mean_auc_ci,
    tie_groups,
    weighted_auc,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    ws = report_workspace(tmp_path_factory.mktemp("report") / "ws")
    path, best = build_report(ws, n_boot=400)
    return ws, path.read_text(encoding="utf-8"), best


def _model_order(page: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-model="([^"]+)"', page)


def _cell(page: str, model: str, nth: int) -> str:
    row = re.search(rf'data-model="{re.escape(model)}">(.*?)</tr>', page, re.DOTALL).group(1)
    return re.findall(r"<td[^>]*>(.*?)</td>", row, re.DOTALL)[nth]


# ------------------------------------------------------------------ numbers


def test_weighted_auc_is_sklearn_auc_with_unit_weights():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 2, 50), np.round(rng.random(50), 1)  # rounded: many ties
    assert weighted_auc(y, p, np.ones(50))[0] == pytest.approx(roc_auc_score(y, p))


def test_bootstrap_draws_whole_cascades():
    """Two cascades, each one fake and one real: g1 ranked right, g2 wrong. Drawing cascades gives AUC
    1 (g1 twice), 0 (g2 twice) or 0.75 (both), with chances 1/4, 1/4, 1/2; drawing videos would give others."""
    oof = pd.DataFrame({"fold": 0, "group": ["g1", "g1", "g2", "g2"], "label": [1, 0, 1, 0],
                        "prob": [0.9, 0.1, 0.2, 0.8]})
    ci = fold_mean_auc_ci(oof, n_boot=2000, seed=1)
    assert ci.mean == pytest.approx(0.75)
    assert set(np.unique(ci.samples)) == {0.0, 0.75, 1.0}
    assert np.mean(ci.samples == 0.75) == pytest.approx(0.5, abs=0.05)
    assert (ci.low, ci.high) == (0.0, 1.0) and ci.includes_chance


def test_bootstrap_ci_averages_folds_and_narrows_with_evidence():
    rng = np.random.default_rng(3)
    n = 200
    label = np.arange(n) % 2
    oof = pd.DataFrame({"fold": (np.arange(n) // 2) % 4, "group": [f"g{i // 2}" for i in range(n)], "label": label,
                        "prob": 1 / (1 + np.exp(-(2 * label - 1) - rng.normal(size=n)))})
    ci = fold_mean_auc_ci(oof, n_boot=500)
    per_fold = [roc_auc_score(d["label"], d["prob"]) for _, d in oof.groupby("fold")]
    assert ci.mean == pytest.approx(np.mean(per_fold))
    assert ci.low < ci.mean < ci.high and ci.high - ci.low < 0.15 and not ci.includes_chance


def test_calibration_bins_hold_equal_counts():
    p = np.r_[np.full(90, 0.05), np.linspace(0.5, 1, 10)]  # scores clustered near 0: equal widths would waste bins
    b = calibration_bins(np.r_[np.zeros(90), np.ones(10)], p, n_bins=10)
    assert list(b["n"]) == [10] * 10
    assert b["frac_fake"].iloc[-1] == 1.0 and b["frac_fake"].iloc[0] == 0.0


def test_ties_share_an_id_at_three_decimals():
    assert tie_groups([0.9001, 0.8, 0.9004, None, 0.7, 0.8]) == [1, 2, 1, None, None, 2]


def test_text_colour_follows_cell_luminance():
    assert text_on(fill(1.0)) == LIGHT_TEXT  # darkest blue: white text
    assert text_on(fill(0.0)) == DARK_TEXT  # near white: dark text
    assert text_on("#f0f4fa") == DARK_TEXT
    for t in np.linspace(0, 1, 41):  # every shade readable (WCAG AA for normal text)
        assert contrast(fill(t), text_on(fill(t))) >= 4.5, t
    for auc in np.linspace(0, 1, 41):
        bg, fg = re.fullmatch(r"background:(#\w{6});color:(#\w{6})", auc_style(auc)).groups()
        assert contrast(bg, fg) >= 4.5, auc
    assert auc_style(0.5).startswith("background:#f7fbff")  # chance: white
    assert auc_style(0.05) != auc_style(0.95) and auc_style(0.05).endswith(LIGHT_TEXT)  # dark red, white text


# ------------------------------------------------------------------ the page


def test_table_sorted_by_roc_auc_with_ci_ties_and_chance(built):
    ws, page, best = built
    assert _model_order(page) == ["5b", "5a", "5alpha", "5beta-xgb", "5c"]
    assert best["model_id"] == "5b"
    # the CI cell shows the cascade bootstrap of that model's predictions
    from fvc.report.collect import _groups, video_level_oof

    oof = video_level_oof(ws, "5beta-xgb", "video", _groups(ws))
    ci = fold_mean_auc_ci(oof, n_boot=400)
    assert _cell(page, "5beta-xgb", 5).strip() == f"{ci.low:.3f}\u2013{ci.high:.3f}"
    assert ci.low < 0.778 < ci.high
    # 5alpha and 5a have the same scores: both marked as one tie; the others not
    assert "=1" in _cell(page, "5alpha", 4) and "=1" in _cell(page, "5a", 4)
    assert "tie-mark" not in _cell(page, "5b", 4)
    assert "Chance is ROC-AUC 0.500" in page
    # the compact set by default, the rest behind the toggle
    assert 'id="all-columns"' in page and page.count('class="num extra"') > page.count('class="num"') / 4
    assert "\u00b1" in _cell(page, "5b", 4)
    # a config hash is text ('1e1' is not 10.0) and sorts as text
    assert re.search(r'data-type="text"[^>]*><button type="button">config<', page)


def test_header_gives_context(built):
    _, page, _ = built
    from fvc import __version__

    assert "generated by fvc synth" in page
    assert "60 labelled videos: 30 fake, 30 real" in page
    assert "5-fold cross-validation grouped by cascade (30 groups" in page
    assert f"fvc {__version__}, commit" in page and "(trained at <code>0123abcd</code>)" in page
    assert "experiment 7" in page and "run5beta-xgb"[:12] in page


def test_charts_legends_and_breakdowns(built):
    _, page, _ = built
    assert page.count('class="chart"') == 4 + 2  # ROC, PR, calibration, folds + two importance charts
    assert re.search(r"5b \(AUC 1\.000\)", page) and "chance (AUC 0.500)" in page
    assert re.search(r"5c \(Brier 0\.\d{3}\)", page) and "10 equal-count bins" in page
    assert "ROC-AUC drop when permuted (test folds)" in page and "gain share (XGBoost)" in page
    for by in ("manipulation", "platform", "codec", "resolution"):
        assert f'id="by-{by}"' in page
    kinds = re.search(r'id="by-manipulation">(.*?)</table>', page, re.DOTALL).group(1)
    assert re.findall(r'<th scope="row" class="text">(\w+)</th>', kinds) == ["cgi", "overlay", "splice"]
    res = re.search(r'id="by-resolution">(.*?)</table>', page, re.DOTALL).group(1)
    assert re.findall(r'<th scope="row" class="text">([^<]+)</th>', res) == ["\u2264240p", "360p", "720p"]


def test_confusion_text_readable_on_dark_and_light_cells(built):
    _, page, _ = built
    cm = re.search(r'aria-label="confusion matrix of 5b">(.*?)</table>', page, re.DOTALL).group(1)
    cells = re.findall(r'<td style="background:(#[0-9a-f]{6});color:(#[0-9a-f]{6})">(\d+)', cm)
    assert len(cells) == 4
    for bg, fg, n in cells:
        assert fg == text_on(bg)
    dark = [fg for bg, fg, n in cells if int(n) == 30]  # 5b is perfect: each diagonal cell holds its whole class
    light = [fg for bg, fg, n in cells if int(n) == 0]
    assert dark == [LIGHT_TEXT, LIGHT_TEXT] and light == [DARK_TEXT, DARK_TEXT]


def test_page_is_offline_accessible_and_from_a_template(built):
    _, page, _ = built
    markup = re.sub(r"<script>.*?</script>", "<script></script>", page, flags=re.DOTALL)  # library text aside
    assert not re.search(r"(src|href)=\"(https?:)?//", markup)  # nothing fetched from the network
    assert "<script src" not in markup
    assert "Plotly.newPlot" in page and len(page) > 3_000_000  # plotly.js inline
    imgs = re.findall(r"<img [^>]*>", page)
    assert imgs and all(re.search(r'alt="[^"]{10,}"', i) for i in imgs)
    charts = re.findall(r'<div class="chart"[^>]*>', page)
    assert charts and all(re.search(r'role="img" aria-label="[^"]{20,}"', c) for c in charts)
    template = Path(__import__("fvc.report", fromlist=["x"]).__file__).parent / "templates" / "report.html.j2"
    assert template.exists() and "<table id=\"cmp\"" in template.read_text()


def test_report_cli_names_best_model_with_preset_and_ci(built):
    ws, _, _ = built
    r = CliRunner().invoke(app, ["report", "-w", str(ws.root)])
    assert r.exit_code == 0, r.output
    assert re.search(r"best model: 5b \(full\) ROC-AUC 1\.000 \+- 0\.000 \(grouped CV, 95% CI 1\.000-1\.000\)",
                     r.output), r.output


def test_report_cli_on_empty_workspace(tmp_path):
    r = CliRunner().invoke(app, ["report", "-w", str(tmp_path / "ws")])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "ws" / "artifacts" / "report.html").read_text()
    assert "No results yet" in page and len(page) < 100_000  # no charts: no chart library either


def test_report_reads_results_of_a_real_run(tmp_path):
    from test_cv import make_ws

    from fvc.config import FvcConfig
    from fvc.experiment import default_run_config, run_experiment

    ws = make_ws(tmp_path / "ws", n=40, signal=3.0)
    run_experiment(ws, FvcConfig(), default_run_config("5a", grid={"clf__C": [1.0]}))
    path, best = build_report(ws, n_boot=100)
    page = path.read_text()
    assert best["model_id"] == "5a" and _model_order(page) == ["5a"]
    assert "ROC-AUC drop when permuted" in page and "aria-label=\"confusion matrix of 5a\"" in page


def test_corrupt_result_file_is_one_line_naming_it(tmp_path, capsys):
    from fvc.cli import main

    ws = report_workspace(tmp_path / "ws")
    bad = ws.results_dir / "5b" / "oof_predictions.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(SystemExit) as exc:
        main(["report", "-w", str(ws.root)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and str(bad) in err and "not a readable Parquet table" in err
