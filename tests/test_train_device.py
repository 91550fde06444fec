"""fvc train --device/--workers/--ddp/--deterministic: one-line errors, the device used, the run config."""

from __future__ import annotations

import pytest
import torch
import yaml

from fvc.experiment.run_config import RunConfig, default_run_config

NO_CUDA = not torch.cuda.is_available()


def _train(tmp_path, capsys, *extra):
    from fvc.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "-w", str(tmp_path / "w"), "--model", "5c", "--preset", "smoke", "--no-tracking", *extra])
    return exc.value.code, capsys.readouterr().err


@pytest.mark.skipif(not NO_CUDA, reason="this machine has a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_absent_gpu_is_a_one_line_error(tmp_path, capsys, device):
    code, err = _train(tmp_path, capsys, "--device", device)
    assert code == 2 and "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and f"--device: '{device}' asked for but torch sees no CUDA GPU" in lines[0]
    assert "--device cpu" in lines[0]  # says how to get on


def test_bad_device_name_is_a_one_line_error(tmp_path, capsys):
    code, err = _train(tmp_path, capsys, "--device", "tpu")
    assert code == 2 and "--device: must be auto, cpu, cuda or cuda:N, got 'tpu'" in err and "Traceback" not in err


def test_auto_says_which_device(tmp_path, capsys):
    code, err = _train(tmp_path, capsys, "--device", "auto")
    assert f"device: {'cuda:0' if not NO_CUDA else 'cpu'} (auto)" in err
    assert code == 2 and "fvc scale" in err  # then stops: this workspace has no scaled videos yet


def test_ddp_without_torchrun_says_how(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    code, err = _train(tmp_path, capsys, "--device", "cpu", "--ddp")
    assert code == 2 and "--ddp: needs several processes (WORLD_SIZE is 1); launch with torchrun" in err


def test_runtime_options_reach_the_run_config_but_not_its_hash(tmp_path, capsys):
    out = tmp_path / "run.yaml"
    _train(tmp_path, capsys, "--device", "cpu", "--workers", "3", "--deterministic", "--save-config", str(out))
    saved = yaml.safe_load(out.read_text())
    assert saved["device"] == "cpu" and saved["workers"] == 3 and saved["params"] == {"deterministic": True}
    rc = RunConfig(**saved)
    plain = default_run_config("5c", preset="smoke", params={"deterministic": True})
    assert rc.hash() == plain.hash()  # where a run trains does not rename it
    assert rc.hash() != default_run_config("5c", preset="smoke").hash()  # bit-exactness does
