"""Deep training speed: the project's Trainer against the model alone, per deep model.

For each model, in its own subprocess (so peak memory is its own):
- trainer clips/s: ``Trainer.fit`` over a ``ClipDataset`` on a clip cache of random uint8 clips at the
  preset's size (loader, pinned copy, on-device normalisation and augmentation, autocast, memory format,
  accumulation, clipping, AdamW, schedule: everything a real epoch does, minus validation and checkpoints);
- ceiling clips/s: the same model, batch, accumulation, clipping and AdamW step on an epoch of batches made
  ahead (untimed) and held on the device in their final form, with the same autocast and memory format;
- their ratio (the share of the model's speed the data path leaves), and peak memory (CUDA: max allocated;
  CPU: the process's peak RSS).
Trainer epochs and ceiling runs alternate (an observer runs the ceiling between epochs) and the best of
``--repeats`` is kept for each, so load from other processes on a shared machine hits both alike. On CPU
with no loader workers the clock is this process's CPU time (``--clock cpu``): other processes on the
same cores then cannot move the numbers; ``--clock wall`` measures wall time.

Usage: python benchmarks/bench_train_speed.py --device cpu|cuda [--models 5c,5d] [--preset smoke|full]
       [--clips 128] [--unit-s 1] [--repeats 5] [--workers N] [--clock wall|cpu]
Defaults: smoke preset on CPU, full on CUDA. Last line: ``min trainer/ceiling ratio: X.XX``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import copy, json, math, resource, sys, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd, torch
from torch import nn
from fvc.models import get_model
from fvc.training.clips import ClipCache, ClipSpec
from fvc.training.dataset import ClipDataset
from fvc.training.device import resolve_device, uses_channels_last
from fvc.training.events import TrainObserver
from fvc.training.train_config import TrainConfig
from fvc.training.trainer import Trainer, autocast_context, param_groups, seed_everything

mid, preset, device_name, n_clips, repeats, workers = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:7])
unit_s = float(sys.argv[7])
device = resolve_device(device_name)
entry = get_model(mid)
resolved = entry.preset(preset, {"weights": None} if entry.has_weights else {})
dc = entry.data_config(resolved)
spec = dc.clip

def fake_cache(root: Path) -> ClipCache:
    rng = np.random.default_rng(0)
    s, t = spec.size, spec.frames
    shape = (n_clips, t, s, s, 3)
    np.memmap(root / "clips.u8", np.uint8, "w+", shape=shape)[:] = rng.integers(0, 256, shape, dtype=np.uint8)
    if spec.flow:
        fshape = (n_clips, t, s, s, 2)
        np.memmap(root / "flow.u8", np.uint8, "w+", shape=fshape)[:] = rng.integers(0, 256, fshape, dtype=np.uint8)
    vh = rng.integers(s // 2, s + 1, n_clips) if spec.mode == "varaspect" else np.full(n_clips, s)
    vw = rng.integers(s // 2, s + 1, n_clips) if spec.mode == "varaspect" else np.full(n_clips, s)
    pd.DataFrame({"row": np.arange(n_clips), "video_id": [f"v{i}" for i in range(n_clips)], "clip": 0,
                  "valid_h": vh, "valid_w": vw, "label": np.arange(n_clips) % 2}).to_parquet(root / "index.parquet")
    (root / "meta.json").write_text(json.dumps({"spec": spec.__dict__, "key": "bench"}))
    return ClipCache(root)

train = dict(resolved["train"])
train.update(epochs=repeats + 1, max_batches_per_epoch=None, patience=10**6, num_workers=None if workers < 0 else workers)
cfg = TrainConfig.from_dict(train)
if cfg.num_threads:
    torch.set_num_threads(cfg.num_threads)  # as the trainer will; also keeps the CPU clock free of idle spinning
tmp = tempfile.TemporaryDirectory()
cache = fake_cache(Path(tmp.name))
seed_everything(0)
model = entry.build(resolved["model"])
ceiling_model = copy.deepcopy(model).to(device)
channels_last = uses_channels_last(ceiling_model, device)
if channels_last:
    ceiling_model.to(memory_format=torch.channels_last_3d)
trainer = Trainer(cfg, device)
amp_ctx, scaler = autocast_context(device, cfg.amp)
loss_fn = nn.BCEWithLogitsLoss()
accum = cfg.accum_steps

def sync():
    if device.type == "cuda":
        torch.cuda.synchronize(device)

# size an epoch to about unit_s of model time (at least 8 optimizer steps, at most n_clips clips)
probe_clock = time.process_time if device.type == "cpu" else time.perf_counter
probe_ds = ClipDataset(cache, rows=np.arange(cfg.batch_size), train=True, mean=dc.mean, std=dc.std)
probe = next(iter(trainer.loader(probe_ds, True, augment=torch.Generator(), channels_last=channels_last)))
probe_opt = torch.optim.AdamW(ceiling_model.parameters())
for k in range(6):  # three warm-up steps, three timed
    if k == 3:
        sync()
        t0 = probe_clock()
    loss_fn(ceiling_model(**{k2: v for k2, v in probe.items() if k2 not in ("label", "row")}).float(),
            probe["label"].to(device)).backward()
    probe_opt.step()
    probe_opt.zero_grad(set_to_none=True)
sync()
step_s = (probe_clock() - t0) / 3
n_batches = min(max(8 * accum, math.ceil(unit_s / step_s / accum) * accum), n_clips // cfg.batch_size)
n_clips = n_batches * cfg.batch_size
ds = ClipDataset(cache, rows=np.arange(n_clips), train=True, mean=dc.mean, std=dc.std)
# the ceiling's inputs: an epoch's batches made ahead on the device, untimed; each pass takes an epoch the
# trainer never sees, so variable-aspect batches bring new shapes to the ceiling as often as to the trainer
feed = trainer.loader(ds, True, augment=torch.Generator().manual_seed(0), channels_last=channels_last)

def ceiling_batches(epoch):
    feed.sampler.set_epoch(epoch)
    return [({k: v for k, v in b.items() if k not in ("label", "row")}, b["label"].to(device)) for b in feed]
opt = torch.optim.AdamW(param_groups(ceiling_model, cfg))

def clocks():
    return np.array([time.perf_counter(), time.process_time()])

def ceiling_pass(epoch):
    batches = ceiling_batches(epoch)
    ceiling_model.train()
    sync()
    t0 = clocks()
    for i, (inputs, y) in enumerate(batches):
        with amp_ctx:
            loss = loss_fn(ceiling_model(**inputs).float(), y)
        (loss / accum).backward()
        if (i + 1) % accum == 0 or i + 1 == n_batches:
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(ceiling_model.parameters(), cfg.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
    sync()
    return clocks() - t0

class Alternate(TrainObserver):
    # times each trainer epoch (from the end of the last ceiling run), then runs the ceiling once
    def __init__(self):
        self.trainer_s, self.ceiling_s, self.t = [], [], clocks()
    def on_epoch_end(self, fold, epoch, metrics):
        if epoch > 0:  # epoch 0 warms up (allocator, kernels, cudnn.benchmark, compile)
            self.trainer_s.append(clocks() - self.t)
        self.ceiling_s.append(ceiling_pass(10_000 + epoch))
        self.t = clocks()

if device.type == "cuda":
    torch.cuda.reset_peak_memory_stats(device)
obs = Alternate()
trainer.fit(model, ds, observer=obs)
ceil = obs.ceiling_s[1:]  # the first one warms the ceiling up
peak = (torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps({"model": mid, "name": entry.name, "input": f"{spec.frames}x{spec.size}x{spec.size}", "clips": n_clips,
                  "batch": cfg.batch_size, "accum": accum, "workers": trainer.workers,
                  "channels_last": channels_last, "peak_mb": peak,
                  **{f"{who}_{clock}": n_clips / float(np.min(np.array(times)[:, k]))
                     for who, times in (("trainer", obs.trainer_s), ("ceiling", ceil))
                     for k, clock in enumerate(("wall", "cpu"))}}))
"""


def child(mid: str, preset: str, device: str, clips: int, repeats: int, workers: int, unit_s: float) -> dict | str:
    out = subprocess.run([sys.executable, "-c", CHILD, mid, preset, device, str(clips), str(repeats), str(workers),
                          str(unit_s)], capture_output=True, text=True)
    if out.returncode != 0:
        return (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from fvc.models import list_models
    from fvc.training.device import resolve_device
    from fvc.training.train_config import TrainConfig  # noqa: F401 (fails early on a broken install)

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ap.add_argument("--models", default=",".join(e.id for e in list_models("deep")))
    ap.add_argument("--preset", default=None, help="smoke (default on CPU) or full (default on CUDA)")
    ap.add_argument("--clips", type=int, default=None, help="most clips per epoch (default 128 smoke, 512 full)")
    ap.add_argument("--unit-s", type=float, default=1.0, help="model seconds per timed epoch (sets the clips)")
    ap.add_argument("--repeats", type=int, default=5, help="timed trainer epochs and ceiling runs per model")
    ap.add_argument("--workers", type=int, default=-1, help="loader workers (default: the trainer's default)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default=None,
                    help="wall time, or this process's CPU time (default on CPU with no workers: immune to other "
                         "processes sharing the cores, and equal to wall time on an idle machine)")
    args = ap.parse_args()
    try:
        device = resolve_device(args.device)
    except Exception as exc:  # one line, no traceback
        sys.exit(f"error: {exc}")
    preset = args.preset or ("full" if device.type == "cuda" else "smoke")
    clips = args.clips or (128 if preset == "smoke" else 512)
    clock = args.clock or ("cpu" if device.type == "cpu" and args.workers <= 0 else "wall")
    if clock == "cpu" and args.workers > 0:
        sys.exit("error: --clock cpu cannot see loader workers' time; use --clock wall with --workers")
    print(f"training speed on {device}, {preset} presets, epochs of ~{args.unit_s:g} s of model time "
          f"(<= {clips} clips), best of {args.repeats}, {clock} clock")
    print(f"{'id':<4} {'model':<22} {'input':>10} {'batch':>6} {'clips':>5} {'wk':>3} {'trainer/s':>10} "
          f"{'ceiling/s':>10} {'ratio':>6} {'peak MB':>8}")
    ratios = []
    for mid in args.models.split(","):
        r = child(mid.strip(), preset, args.device, clips, args.repeats, args.workers, args.unit_s)
        if isinstance(r, str):
            print(f"{mid:<4} failed: {r}")
            ratios.append(0.0)  # a model that cannot train has no speed
            continue
        r["trainer"], r["ceiling"] = r[f"trainer_{clock}"], r[f"ceiling_{clock}"]
        ratio = r["trainer"] / r["ceiling"]
        ratios.append(ratio)
        batch = f"{r['batch']}x{r['accum']}" if r["accum"] > 1 else str(r["batch"])
        print(f"{r['model']:<4} {r['name'][:22]:<22} {r['input']:>10} {batch:>6} {r['clips']:>5} {r['workers']:>3} "
              f"{r['trainer']:>10.1f} {r['ceiling']:>10.1f} {ratio:>6.2f} {r['peak_mb']:>8.0f}", flush=True)
    print(f"min trainer/ceiling ratio: {min(ratios):.2f}")


if __name__ == "__main__":
    main()
