"""Deep models on CPU: smoke-preset training throughput, peak memory and parameter counts; and for the
transformers (5k-5n) the peak memory of one forward/backward at the full preset, with and without
gradient checkpointing.

Each measurement runs in its own subprocess so its peak RSS (ru_maxrss) is its own; ``base MB`` is the
RSS after importing torch, timm and transformers and building nothing. Full-preset runs use random
clips and no pretrained weights (the same network and memory, nothing to download).
Usage: python benchmarks/bench_deep_train.py [--steps 6] [--batch 4] [--models 5c,5k,...] [--threads 1]
       [--full-batch 2] [--full-models 5k,5l,5m,5n] [--no-full]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import torch, timm, transformers
from fvc.models import get_model
from fvc.models.deep.base import count_params
from fvc.training.trainer import seed_everything

def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

mode, mid, steps, batch, threads, ckpt = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
torch.set_num_threads(threads)
base = rss_mb()
d = get_model(mid)
p = d.preset("smoke" if mode == "smoke" else "full", {"weights": None})
t, s = p["clip"]["frames"], p["clip"]["size"]
with torch.device("meta"):  # the full configuration's size, without allocating it
    full_params = count_params(d.build(d.preset("full", {"weights": None})["model"]))
seed_everything(0)
model = d.build(p["model"]).train()
if ckpt:
    model.set_grad_checkpointing(True)
x = {"clip": torch.randn(batch, 3, t, s, s)}
if p["clip"].get("flow"):
    x["flow"] = torch.randn(batch, 2, t, s, s)
if p["clip"].get("mode") == "varaspect":
    x["valid"] = torch.tensor([[s, s]] * batch)
y = (torch.arange(batch) % 2).float()
opt = torch.optim.AdamW(model.parameters(), 1e-3)
def step():
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(**x), y)
    opt.zero_grad(); loss.backward(); opt.step()
if mode == "smoke":
    step()  # warm-up (allocator, kernels)
t0 = time.perf_counter()
for _ in range(steps):
    step()
dt = time.perf_counter() - t0
print(json.dumps({"model": mid, "name": d.name, "params_m": count_params(model) / 1e6, "full_params_m": full_params / 1e6,
                  "input": f"{t}x{s}x{s}", "clips_per_s": steps * batch / dt, "step_s": dt / steps, "peak_mb": rss_mb(),
                  "base_mb": base}))
"""


def child(mode: str, mid: str, steps: int, batch: int, threads: int, ckpt: bool = False) -> dict | str:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, mid, str(steps), str(batch), str(threads), str(int(ckpt))],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from fvc.models import list_models

    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default=",".join(e.id for e in list_models("deep")))
    ap.add_argument("--full-batch", type=int, default=2)
    ap.add_argument("--full-threads", type=int, default=2)
    ap.add_argument("--full-models", default="5k,5l,5m,5n")
    ap.add_argument("--no-full", action="store_true")
    args = ap.parse_args()
    print(f"smoke-size training on CPU, batch {args.batch}, {args.steps} timed steps, {args.threads} thread(s)")
    print(f"{'id':<4} {'model':<22} {'smoke':>8} {'full':>9} {'input':>9} {'clips/s':>8} {'peak MB':>8} {'+model MB':>9}")
    for mid in args.models.split(","):
        r = child("smoke", mid, args.steps, args.batch, args.threads)
        if isinstance(r, str):
            print(f"{mid:<4} failed: {r}")
            continue
        print(f"{r['model']:<4} {r['name']:<22} {r['params_m']:>7.2f}M {r['full_params_m']:>8.2f}M {r['input']:>9} "
              f"{r['clips_per_s']:>8.1f} {r['peak_mb']:>8.0f} {r['peak_mb'] - r['base_mb']:>9.0f}")
    if args.no_full:
        return
    print(f"\nfull preset, one forward/backward/AdamW step on CPU, batch {args.full_batch}, "
          f"{args.full_threads} thread(s): peak RSS")
    print(f"{'id':<4} {'model':<16} {'input':>10} {'ckpt':>5} {'step s':>7} {'peak MB':>8} {'+model MB':>9}")
    for mid in args.full_models.split(","):
        for ckpt in (False, True):
            r = child("full", mid, 1, args.full_batch, args.full_threads, ckpt)
            if isinstance(r, str):
                print(f"{mid:<4} {'on' if ckpt else 'off':>5} failed: {r}")
                continue
            print(f"{r['model']:<4} {r['name']:<16} {r['input']:>10} {'on' if ckpt else 'off':>5} {r['step_s']:>7.1f} "
                  f"{r['peak_mb']:>8.0f} {r['peak_mb'] - r['base_mb']:>9.0f}")


if __name__ == "__main__":
    main()
