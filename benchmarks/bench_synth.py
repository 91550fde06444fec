"""Demo-corpus build time for ``fvc synth`` (wall and CPU seconds, videos/s), plus the fairness check.

CPU seconds cover this process and its worker processes (sampled with psutil:
the workers are children of a fork server, which a plain rusage misses); on a
machine shared with other jobs they tell more than the wall time does.

Usage: python benchmarks/bench_synth.py [--videos 120] [--seed 0] [--workers 2] [--check]
--check also prints grouped-CV ROC-AUC of content-only statistics (should be near 0.5)
and of simple forensic trace statistics (should be high).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time

import pandas as pd
import psutil


class CpuMeter:
    """Sums user+system CPU of this process and every descendant seen while running."""

    def __init__(self, period: float = 0.2):
        self.period, self.seen, self.stop = period, {}, threading.Event()
        self.me = psutil.Process()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        for p in self.me.children(recursive=True):
            try:
                t = p.cpu_times()
                self.seen[p.pid] = t.user + t.system
            except psutil.Error:
                pass

    def _loop(self) -> None:
        while not self.stop.wait(self.period):
            self._sample()

    def __enter__(self):
        t = self.me.cpu_times()
        self.start = t.user + t.system
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        t = self.me.cpu_times()
        self.cpu = t.user + t.system - self.start + sum(self.seen.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-height", type=int, default=720)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    from fvc.data.synth import build
    from fvc.data.synth.check import content_stats, grouped_oof, labelled, trace_stats

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with CpuMeter() as meter:
            r = build(tmp, args.videos, args.seed, max_height=args.max_height, workers=args.workers,
                      keep_videos=args.check)
        dt = time.perf_counter() - t0
        print(f"synth: {len(r.manifest)} videos in {dt:.1f} s wall, {meter.cpu:.1f} CPU s "
              f"({len(r.manifest) / dt:.2f} videos/s), workers={args.workers}, "
              f"load average {os.getloadavg()[0]:.1f}")
        if args.check:
            m = labelled(r.manifest)
            content = pd.DataFrame([content_stats(p, row) for p, (_, row) in zip(m.path, m.iterrows())])
            traces = pd.DataFrame([trace_stats(p) for p in m.path])
            y, g = m.y.to_numpy(), m.cascade_id.to_numpy()
            for model in ("logreg", "gbm"):
                (cf, cp), (tf, tp) = grouped_oof(content, y, g, model), grouped_oof(traces, y, g, model)
                print(f"{model}: content-only AUC {cf:.3f} (pooled OOF {cp:.3f}), "
                      f"trace AUC {tf:.3f} (pooled OOF {tp:.3f})")


if __name__ == "__main__":
    main()
