"""Demo-corpus build time for ``fvc synth`` (seconds, videos/s), plus the corpus fairness check.

Usage: python benchmarks/bench_synth.py [--videos 120] [--seed 0] [--workers 2] [--check]
--check also prints grouped-CV ROC-AUC of content-only statistics (should be near 0.5)
and of simple forensic trace statistics (should be high).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--videos", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-height", type=int, default=720)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    from fvc.data.synth import build
    from fvc.data.synth.check import content_stats, grouped_auc, labelled, trace_stats

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = build(tmp, args.videos, args.seed, max_height=args.max_height, workers=args.workers,
                  keep_videos=args.check)
        dt = time.perf_counter() - t0
        print(f"synth: {len(r.manifest)} videos in {dt:.1f} s ({len(r.manifest) / dt:.2f} videos/s), "
              f"workers={args.workers}, load average {os.getloadavg()[0]:.1f}")
        if args.check:
            m = labelled(r.manifest)
            content = pd.DataFrame([content_stats(p, row) for p, (_, row) in zip(m.path, m.iterrows())])
            traces = pd.DataFrame([trace_stats(p) for p in m.path])
            y, g = m.y.to_numpy(), m.cascade_id.to_numpy()
            for model in ("logreg", "gbm"):
                print(f"{model}: content-only AUC {grouped_auc(content, y, g, model):.3f}, "
                      f"trace AUC {grouped_auc(traces, y, g, model):.3f}")


if __name__ == "__main__":
    main()
