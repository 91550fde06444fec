"""Invalid option and fvc.yaml values are one-line errors, and never reach fvc.yaml."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from fvc.config import FvcConfig, load_config, with_options
from fvc.errors import InputError
from fvc.workspace import Workspace



def one_line_error(code: int, err: str) -> str:
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def ws(tmp_path) -> Workspace:
    """A workspace with an index of 3 fake and 3 real cascades (2 videos each), fvc.yaml with 3 folds."""
    ws = Workspace(tmp_path / "ws").ensure()
    rows = [{"video_id": f"{c}_{j}", "cascade_id": c, "label": int(c[0] == "f"), "error": None}
            for c in ("f0", "f1", "f2", "r0", "r1", "r2") for j in range(2)]
    index = pd.DataFrame(rows)
    index["label"] = index["label"].astype("Int64")
    ws.write("index", index)
    ws.config_path.write_text(with_options(FvcConfig(), {"splits.folds": 3}).to_yaml())
    return ws


@pytest.mark.parametrize(
    "argv, problem",
    [
        (["splits", "--folds", "1"], r"--folds: invalid value 1 for splits\.folds: .*greater than or equal to 2"),
        (["splits", "--folds", "1000"], r"fewer than 1000 folds"),
        (["augment", "--per-video", "-1"], r"--per-video: invalid value -1 for augment\.per_video"),
        (["scale", "--size", "0"], r"--size: invalid value 0 for scale\.size"),
        (["scale", "--method", "bicubic"], r"--method: invalid value 'bicubic' for scale\.method"),
        (["run", "--per-video", "-1"], r"--per-video: invalid value -1"),
        (["run", "--size", "255"], r"--size: invalid value 255 for scale\.size: .*multiple of 2"),
    ],
)
def test_invalid_option_is_one_line_and_fvc_yaml_is_unchanged(ws, fvc, argv, problem):
    before = ws.config_path.read_bytes()
    code, _, err = fvc(*argv, "-w", str(ws.root))
    assert re.search(problem, one_line_error(code, err))
    assert ws.config_path.read_bytes() == before
    assert not ws.has("splits")
    # and the next command that never named the option still works
    code, _, err = fvc("splits", "-w", str(ws.root))
    assert code == 0, err


def test_valid_folds_are_saved_after_the_splits_are_made(ws, fvc):
    code, _, err = fvc("splits", "--folds", "2", "--seed", "9", "-w", str(ws.root))
    assert code == 0, err
    assert load_config(ws).splits.folds == 2 and load_config(ws).splits.seed == 9
    assert sorted(ws.read("splits")["fold"].unique()) == [0, 1]


def test_invalid_option_on_a_new_workspace_creates_nothing(tmp_path, fvc):
    target = tmp_path / "new-ws"
    code, _, err = fvc("augment", "--per-video", "-3", "-w", str(target))
    one_line_error(code, err)
    assert not target.exists()


def test_usage_limits_on_options_that_are_not_saved(tmp_path, fvc):
    for argv in (["index", "--workers", "0"], ["train", "--folds", "1"], ["query", "--limit", "-1", "SELECT 1"]):
        code, _, err = fvc(*argv, "-w", str(tmp_path / "x"))
        assert code == 2 and "Invalid value for" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "text, where",
    [
        ("splits:\n  folds: 1\n", r"invalid config at 'splits\.folds': .*greater than or equal to 2"),
        ("features:\n  sample_fraction: 0\n", r"'features\.sample_fraction': .*greater than 0"),
        ("features:\n  sample_fraction: 1.5\n", r"'features\.sample_fraction': .*less than or equal to 1"),
        ("features:\n  min_frames: 10\n  max_frames: 5\n", r"'features': min_frames \(10\) must not exceed max_frames \(5\)"),
        ("augment:\n  per_video: -2\n", r"'augment\.per_video'"),
        ("augment:\n  crf: 99\n", r"'augment\.crf'"),
        ("scale:\n  size: 0\n", r"'scale\.size'"),
        ("data:\n  label_map: {fake: 2, real: 0}\n", r"'data\.label_map\.fake'"),
        ("video:\n  max_side: 0\n", r"'video\.max_side'"),
        ("splits: [1, 2]\n", r"'splits': "),
        ("- just\n- a list\n", r"config must be a YAML mapping"),
        ("splits: {folds: 3\n", r"not valid YAML"),
    ],
)
def test_invalid_fvc_yaml_values(tmp_path, text, where):
    path = tmp_path / "fvc.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=where) as err:
        FvcConfig.from_yaml(path)
    assert "\n" not in str(err.value)


def test_fvc_yaml_of_random_bytes_is_one_line(ws, fvc):
    ws.config_path.write_bytes(bytes(range(128, 256)) * 4)
    code, _, err = fvc("splits", "-w", str(ws.root))
    line = one_line_error(code, err)
    assert "fvc.yaml: cannot read config: not UTF-8 text" in line


def test_cross_field_option_names_the_options_given():
    cfg = FvcConfig()
    with pytest.raises(InputError, match=r"^--max-frames 2: invalid features: min_frames \(5\) must not exceed"):
        with_options(cfg, {"features.max_frames": 2})
    assert with_options(cfg, {"features.max_frames": 5, "splits.seed": None}).features.max_frames == 5


def test_saved_config_round_trips_through_yaml(tmp_path):
    cfg = with_options(FvcConfig(), {"scale.size": 128, "augment.per_video": 0})
    (tmp_path / "fvc.yaml").write_text(cfg.to_yaml())
    assert FvcConfig.from_yaml(tmp_path / "fvc.yaml") == cfg
    assert yaml.safe_load(cfg.to_yaml())["video"] == {"max_side": 8192, "max_pixels": 8192 * 4320}
