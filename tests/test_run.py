"""fvc run: stage selection, the whole chain on a tiny folder corpus, resume on re-run."""

from __future__ import annotations

import pytest
from conftest import write_csv, write_video

from fvc.config import FvcConfig, save_config
from fvc.errors import InputError
from fvc.pipeline import STAGES, RunOptions, run_pipeline, stage_range
from fvc.workspace import Workspace


def corpus(folder):
    """4 fake and 4 real cascades, one video each, named by cascade id (folder mode of setup)."""
    rows = []
    for i in range(4):
        for kind, label in (("f", "fake"), ("r", "real")):
            cid = f"{kind}{i}"
            write_video(folder / f"{cid}.mp4", frames=8, width=64, height=48, seed=i + (10 if kind == "r" else 0))
            rows.append((cid, f"https://www.youtube.com/watch?v={cid}vid00000"[:43], label))
    write_csv(folder / "FVC.csv", rows)
    write_csv(folder / "FVC_dup.csv", [])
    return folder


def small_workspace(root) -> tuple[Workspace, FvcConfig]:
    ws = Workspace(root).ensure()
    cfg = FvcConfig()
    cfg.splits.folds = 2
    cfg.augment.per_video = 1
    cfg.scale.size = 32
    cfg.features.min_frames = 2
    cfg.features.max_frames = 4
    save_config(ws, cfg)
    return ws, cfg


def test_stage_range():
    assert stage_range(None, None) == list(STAGES)
    assert stage_range("augment", "scale") == ["augment", "features2", "scale"]
    with pytest.raises(InputError, match="unknown stage"):
        stage_range("nope", None)
    with pytest.raises(InputError, match="comes after"):
        stage_range("scale", "augment")


def test_setup_needs_archives(tmp_path):
    ws, cfg = small_workspace(tmp_path / "ws")
    report = run_pipeline(ws, cfg, RunOptions(), None, "index")
    assert report.error and "--archives" in report.error
    assert [r.status for r in report.results[:2]] == ["failed", "not reached"]


def test_chain_to_scale_then_resume(tmp_path):
    ws, cfg = small_workspace(tmp_path / "ws")
    opts = RunOptions(archives=corpus(tmp_path / "corpus"))
    seen = []
    report = run_pipeline(ws, cfg, opts, None, "scale", on_stage=lambda k, n, s: seen.append(s))
    assert report.error is None, report.error
    assert seen == ["setup", "index", "splits", "augment", "features2", "scale"]
    by = {r.stage: r for r in report.results}
    assert by["index"].done == 8 and by["splits"].done == 8
    # stage 2 reads the originals (augment.profile 'none'); stage 3 the originals and the full-profile copies
    assert by["augment"].done == 8 and by["scale"].done == 16 and by["features2"].done == 8
    assert by["features4"].status == "not selected" and by["train"].status == "not selected"
    scaled = ws.read("scaled")
    assert len(scaled) == 16 and scaled["error"].isna().all() and (scaled["width"] == 32).all()

    again = run_pipeline(ws, cfg, RunOptions(), "index", "scale")  # setup not selected: no archives needed
    by = {r.stage: r for r in again.results}
    assert again.error is None
    for stage in ("index", "splits", "augment", "features2", "scale"):
        assert by[stage].done == 0 and by[stage].skipped > 0 and by[stage].status == "up to date", stage

    cfg.scale.size = 64  # a config change redoes that stage only
    third = {r.stage: r for r in run_pipeline(ws, cfg, RunOptions(), "augment", "scale").results}
    assert third["augment"].done == 0 and third["scale"].done == 16


def test_full_chain_with_training(tmp_path, monkeypatch):
    """The whole chain, then a re-run of the train stage: the finished model is skipped, never refitted."""
    import fvc.experiment

    ws, cfg = small_workspace(tmp_path / "ws")
    opts = RunOptions(archives=corpus(tmp_path / "corpus"), models="5a", tracking=False)
    report = run_pipeline(ws, cfg, opts)
    assert report.error is None, report.error
    by = {r.stage: r for r in report.results}
    assert by["features4"].done == 16 and by["train"].done == 1
    results = {p.name: p.read_bytes() for p in (ws.results_dir / "5a").iterdir() if p.is_file()}
    assert {"metrics.json", "model.joblib"} <= set(results)

    def no_training(*a, **kw):
        raise AssertionError("the train stage refitted a finished model")

    monkeypatch.setattr(fvc.experiment, "run_experiment", no_training)
    again = {r.stage: r for r in run_pipeline(ws, cfg, opts, "train", "train").results}
    assert again["train"].skipped == 1 and again["train"].done == 0
    assert {p.name: p.read_bytes() for p in (ws.results_dir / "5a").iterdir() if p.is_file()} == results


def test_cli_run_bad_stage_is_one_line_error(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    fvc = str(Path(sys.executable).with_name("fvc"))
    out = subprocess.run([fvc, "run", "-w", str(tmp_path / "ws"), "--from", "bogus"], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "CI": "true"})
    assert out.returncode == 2 and out.stderr.startswith("error:") and "bogus" in out.stderr


def test_cli_run_folds(tmp_path, capsys):
    """`fvc run --folds N` splits into N folds and keeps N in fvc.yaml; a count the data cannot fill says the fix."""
    from fvc.cli import main
    from fvc.config import load_config

    def fvc(*args):
        with pytest.raises(SystemExit) as exc:
            main([*args])
        out = capsys.readouterr()
        return exc.value.code, out.out, out.err

    src, ws = corpus(tmp_path / "corpus"), Workspace(tmp_path / "ws")
    code, out, err = fvc("run", "-w", str(ws.root), "--archives", str(src), "--to", "splits", "--folds", "3")
    assert code == 0, err
    assert sorted(ws.read("splits")["fold"].unique()) == [0, 1, 2]
    assert load_config(ws).splits.folds == 3
    code, out, err = fvc("run", "-w", str(ws.root), "--from", "splits", "--to", "splits", "--folds", "5")
    assert code == 2 and "Traceback" not in err
    assert "fewer than 5 folds; use at most 4 folds: 'fvc splits --folds 4' or 'fvc run --folds 4'" in err
    assert load_config(ws).splits.folds == 3  # the count that failed is not kept
