"""Data parallel training on CPU (gloo, 2 processes started the way torchrun starts them) equals one process.

Tolerance: weights within rtol 1e-5 / atol 1e-6 and metrics within 1e-6 of a single-process run with the same
effective batch (the all-reduce sums gradients in another order than one big batch does; nothing else differs).
The model has no dropout: each rank draws its own dropout masks, so with dropout the runs differ by design.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from fvc.errors import InputError
from fvc.training import distributed

SCRIPT = textwrap.dedent("""
    import json, os, sys, torch
    sys.path.insert(0, {tests!r})
    from test_trainer import Blobs, TinyNet
    from fvc.training.trainer import Trainer, TrainConfig, seed_everything
    from fvc.training.events import RecordingObserver
    from fvc.training import distributed
    batch, ckpt, out, kill = int(sys.argv[1]), sys.argv[2], sys.argv[3], len(sys.argv) > 4
    torch.set_num_threads(1)
    seed_everything(1)
    model = TinyNet(0.0)
    class Obs(RecordingObserver):
        def on_epoch_end(self, fold, epoch, metrics):
            super().on_epoch_end(fold, epoch, metrics)
            if kill and epoch == 0:
                os._exit(3)  # rank 0 dies right after the epoch-0 checkpoint
    obs = Obs()
    cfg = TrainConfig(epochs=3, batch_size=batch, effective_batch_size=8, lr_head=1e-2, lr_backbone=1e-2,
                      warmup_fraction=0.3, seed=5, patience=5)
    trainer = Trainer(cfg)
    res = trainer.fit(model, Blobs(16), Blobs(7, seed=1), checkpoint_dir=ckpt, observer=obs)
    logits, labels, rows = trainer.predict(model, Blobs(7, seed=2))
    rank = trainer.dist.rank
    torch.save(model.state_dict(), f"{{out}}.{{rank}}.pt")
    json.dump({{"history": res.history, "events": len(obs.events), "world": trainer.dist.world,
               "logits": logits.tolist(), "rows": rows.tolist()}}, open(f"{{out}}.{{rank}}.json", "w"))
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(script: Path, batch: int, ckpt: Path, out: Path, world: int, kill: bool = False) -> None:
    port = _free_port()
    procs = []
    for rank in range(world):
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        if world > 1:  # what torchrun sets
            env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                       MASTER_PORT=str(port))
        args = [sys.executable, str(script), str(batch), str(ckpt), str(out)] + (["kill"] if kill else [])
        procs.append(subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    if kill:  # as torchrun does when a rank dies: stop the others
        assert procs[0].wait(timeout=240) == 3, procs[0].communicate()[1][-3000:]
        for p in procs[1:]:
            p.kill()
            p.wait()
        return
    for p in procs:
        _, err = p.communicate(timeout=240)
        assert p.returncode == 0, err[-3000:]


def test_two_gloo_ranks_match_one_process(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent)))
    _run(script, 4, tmp_path / "one", tmp_path / "one", 1)  # batch 4 x accum 2 = 8 clips per step
    _run(script, 2, tmp_path / "two", tmp_path / "two", 2)  # batch 2 x accum 2 x 2 ranks = 8 clips per step
    one = json.loads((tmp_path / "one.0.json").read_text())
    r0, r1 = (json.loads((tmp_path / f"two.{r}.json").read_text()) for r in (0, 1))
    assert r0["world"] == 2 and one["world"] == 1
    assert r0["events"] == 3 and r1["events"] == 0  # rank 0 alone reports epochs
    assert r0["history"] == r1["history"]  # every rank sees the same (all-reduced, gathered) metrics
    for a, b in zip(one["history"], r0["history"]):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_auc", "val_accuracy", "lr_head"):
            assert b[key] == pytest.approx(a[key], rel=1e-6, abs=1e-6), key
    assert one["history"][0]["train_loss"] != one["history"][-1]["train_loss"]  # it did learn something
    assert r0["rows"] == one["rows"] == list(range(7))  # prediction gathered in order, padding dropped
    torch.testing.assert_close(torch.tensor(r0["logits"]), torch.tensor(one["logits"]), rtol=1e-5, atol=1e-6)
    w1, w0, wr1 = (torch.load(tmp_path / f"{n}.pt") for n in ("one.0", "two.0", "two.1"))
    for k in w1:
        torch.testing.assert_close(w0[k], w1[k], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(wr1[k], w0[k], rtol=0, atol=0)  # the ranks hold one model
    assert sorted(p.name for p in (tmp_path / "two").glob("epoch-*.pt")) == ["epoch-0001.pt", "epoch-0002.pt"]


@pytest.mark.slow
def test_ddp_resumes_after_a_kill_bit_for_bit(tmp_path):
    """2 ranks straight == 2 ranks killed after epoch 0 (rank 0 dies, the other is stopped) and restarted."""
    script = tmp_path / "ddp.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent)))
    _run(script, 2, tmp_path / "straight", tmp_path / "straight", 2)
    _run(script, 2, tmp_path / "ckpt", tmp_path / "killed", 2, kill=True)
    assert not (tmp_path / "killed.0.pt").exists()
    assert sorted(p.name for p in (tmp_path / "ckpt").glob("epoch-*.pt")) == ["epoch-0000.pt"]
    _run(script, 2, tmp_path / "ckpt", tmp_path / "resumed", 2)
    a, b = torch.load(tmp_path / "straight.0.pt"), torch.load(tmp_path / "resumed.0.pt")
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=0)
    resumed = json.loads((tmp_path / "resumed.0.json").read_text())
    assert resumed["events"] == 2  # epochs 1 and 2 only: epoch 0 came from the checkpoint


def test_ddp_without_torchrun_says_how(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(InputError, match=r"--ddp: needs several processes \(WORLD_SIZE is 1\); launch with torchrun"):
        distributed.current("cpu", required=True)
    assert distributed.current("cpu") == distributed.Dist() and distributed.is_main_process()
