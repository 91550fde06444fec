"""Deep-model training throughput (clips/s) and peak memory per model, on CPU at smoke size.

Each model runs in its own subprocess so its peak RSS (ru_maxrss) is its own;
the baseline is the RSS after importing torch and building nothing.
Usage: python benchmarks/bench_deep_train.py [--steps 6] [--batch 4] [--models 5c,5d,...] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
import torch
from fvc.models import get_model
from fvc.models.deep.base import count_params
from fvc.training.trainer import seed_everything
mid, steps, batch, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
d = get_model(mid)
p = d.preset("smoke")
t, s = p["clip"]["frames"], p["clip"]["size"]
seed_everything(0)
model = d.build(p["model"]).train()
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
step()  # warm-up (allocator, kernels)
t0 = time.perf_counter()
for _ in range(steps):
    step()
dt = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"model": mid, "name": d.name, "params_m": count_params(model) / 1e6, "input": f"{t}x{s}x{s}",
                  "clips_per_s": steps * batch / dt, "peak_mb": peak, "base_mb": base}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default="5c,5d,5e,5o,5p,5q,5r,5s,5t,5u")
    args = ap.parse_args()
    print(f"smoke-size training on CPU, batch {args.batch}, {args.steps} timed steps, {args.threads} thread(s)")
    print(f"{'id':<4} {'model':<22} {'params':>8} {'input':>9} {'clips/s':>8} {'peak MB':>8} {'+model MB':>9}")
    for mid in args.models.split(","):
        out = subprocess.run([sys.executable, "-c", CHILD, mid, str(args.steps), str(args.batch), str(args.threads)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{mid:<4} failed: {out.stderr.strip().splitlines()[-1]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{r['model']:<4} {r['name']:<22} {r['params_m']:>7.2f}M {r['input']:>9} {r['clips_per_s']:>8.1f} "
              f"{r['peak_mb']:>8.0f} {r['peak_mb'] - r['base_mb']:>9.0f}")


if __name__ == "__main__":
    main()
