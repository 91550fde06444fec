"""Generated corpora: build time, and whether the demo corpus learns without a shortcut.

Build time (default): wall and CPU seconds of ``fvc synth`` (CPU covers this
process and its workers, sampled with psutil: they are children of a fork
server, which a plain rusage misses; on a shared machine CPU tells more than
wall time).

``--learn``: for each seed, the pipeline exactly as ``fvc run`` runs it, by
its commands: ``fvc synth``, ``fvc run --to features2`` (setup, index,
splits, augmentation, stage-2 features) and ``fvc train`` of the stage-2
feature models. Prints per seed the grouped-CV ROC-AUC of each model (mean
over folds, as ``fvc train`` reports it), per manipulation kind the pooled
out-of-fold ROC-AUC of the best model on that kind's fakes against every real
video (with a 90% interval from resampling whole cascades: a kind has only 6-8
fake cascades), the same for every model, and the no-shortcut check: a content-only classifier (colour,
contrast, size, duration, fps, codec, audio; ``fvc.data.synth.check``) under
the same grouped CV (mean of 5 fold shuffles; should stay near 0.5).

Usage:
  python benchmarks/bench_synth.py [--videos 120] [--seed 0] [--workers 2] [--check]
  python benchmarks/bench_synth.py --learn [--seeds 1 2 7] [--videos 120] [--per-video 0]
      [--profile forensic_safe] [--models 5a,5beta-lgbm,...] [--work DIR] [--force]
--check also prints grouped-CV ROC-AUC of content-only statistics and of
simple forensic trace statistics on the built corpus.
``--work`` keeps corpora and workspaces; a corpus already there is reused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

FVC = str(Path(sys.executable).with_name("fvc"))
FEATURE_MODELS = "5a,5b,5beta-xgb,5beta-lgbm,5beta-cat"


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


def fvc(*args: str) -> float:
    """Run one `fvc` command quietly; stop with its error output if it fails. Returns seconds."""
    t0 = time.perf_counter()
    res = subprocess.run([FVC, *args], env=dict(os.environ, CI="true"), capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"fvc {args[0]} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    return time.perf_counter() - t0


def content_auc(ws: Path, truth: pd.DataFrame) -> float:
    """Content-only classifier under grouped CV on the labelled originals of the workspace."""
    from fvc.data.synth.check import content_stats, grouped_oof

    index = pd.read_parquet(ws / "tables" / "index.parquet")
    m = truth.merge(index[["video_id", "path"]], on="video_id")
    m = m[m.label_raw.isin(["fake", "real"])].reset_index(drop=True)
    x = pd.DataFrame([content_stats(ws / p, row) for p, (_, row) in zip(m.path, m.iterrows())])
    y, g = (m.label_raw == "fake").astype(int).to_numpy(), m.cascade_id.to_numpy()
    return float(np.mean([grouped_oof(x, y, g, "logreg", seed=s)[0] for s in range(5)]))


def video_scores(oof: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per source video: label, mean probability over its copies (as fvc train scores them), kind, cascade."""
    per_video = oof.groupby("source_video_id").agg(label=("label", "first"), prob=("prob", "mean"))
    return per_video.join(truth.set_index("video_id")[["manipulation", "cascade_id"]], how="left")


def kind_aucs(oof: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Pooled out-of-fold ROC-AUC of each manipulation kind's fakes against all real videos."""
    from sklearn.metrics import roc_auc_score

    df = video_scores(oof, truth)
    out = {}
    for kind in sorted(set(df.manipulation.dropna()) - {"none"}):
        sel = (df.label == 0) | ((df.manipulation == kind) & (df.label == 1))
        if df[sel].label.nunique() == 2:
            out[kind] = float(roc_auc_score(df[sel].label, df[sel].prob))
    return out


def kind_intervals(oof: pd.DataFrame, truth: pd.DataFrame, reps: int = 1000, seed: int = 0) -> dict[str, str]:
    """90% cascade-bootstrap interval of each kind's AUC, and its fake cascade count.

    A kind has a handful of fake cascades (6-8 in 120 videos) and their copies are not independent, so the
    bootstrap draws whole cascades (the kind's fake ones and the real ones, separately, with replacement):
    the interval says how far a kind's AUC can move with another draw of the same generator.
    """
    from scipy.stats import rankdata

    def auc(f: np.ndarray, r: np.ndarray) -> float:  # Mann-Whitney U / (n_fake * n_real), ties counted half
        ranks = rankdata(np.r_[f, r])
        return float((ranks[: f.size].sum() - f.size * (f.size + 1) / 2) / (f.size * r.size))

    df = video_scores(oof, truth)
    rng = np.random.default_rng(seed)
    real = {c: g.prob.to_numpy() for c, g in df[df.label == 0].groupby("cascade_id")}
    out = {}
    for kind in sorted(set(df.manipulation.dropna()) - {"none"}):
        fake = {c: g.prob.to_numpy() for c, g in df[(df.label == 1) & (df.manipulation == kind)].groupby("cascade_id")}
        if not fake or not real:
            continue
        fk, rk, aucs = list(fake), list(real), []
        for _ in range(reps):
            f = np.concatenate([fake[fk[i]] for i in rng.integers(0, len(fk), len(fk))])
            r = np.concatenate([real[rk[i]] for i in rng.integers(0, len(rk), len(rk))])
            aucs.append(auc(f, r))
        lo, hi = np.percentile(aucs, [5, 95])
        out[kind] = f"{lo:.2f}-{hi:.2f} ({len(fk)})"
    return out


def learn(args: argparse.Namespace) -> None:
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-synth-"))
    rows, kinds_rows, every_rows, interval_rows = [], [], [], []
    for seed in args.seeds:
        corpus = work / f"corpus-v{args.videos}-s{seed}"
        tag = f"{args.profile}-p{args.per_video}"
        ws = work / f"ws-v{args.videos}-s{seed}-{tag}"
        t_synth = None
        if not (corpus / "Metadata.zip").exists():
            t_synth = fvc("synth", "--out", str(corpus), "--videos", str(args.videos), "--seed", str(seed))
        truth = pd.read_csv(corpus / "ground_truth.csv")
        truth["video_id"] = truth.file_name.str.rsplit(".", n=1).str[0]
        ws.mkdir(parents=True, exist_ok=True)
        (ws / "fvc.yaml").write_text(f"augment:\n  profile: {args.profile}\n  deep_profile: {args.deep_profile}\n",
                                     encoding="utf-8")
        t_run = fvc("run", "-w", str(ws), "--archives", str(corpus), "--password", "fvc-synth",
                    "--per-video", str(args.per_video), "--to", "features2", "--no-tracking")
        t_train = fvc("train", "-w", str(ws), "--model", args.models, "--no-tracking", *(["--force"] * args.force))
        aucs = {}
        for model in args.models.split(","):
            metrics = json.loads((ws / "results" / model / "metrics.json").read_text())
            aucs[model] = metrics["mean"]["roc_auc"]
        best = max(aucs, key=aucs.get)
        oofs = {m: pd.read_parquet(ws / "results" / m / "oof_predictions.parquet") for m in aucs}
        for m, oof in oofs.items():
            per_kind = kind_aucs(oof, truth)
            every_rows.append({"seed": seed, "model": m, "roc_auc": round(aucs[m], 3),
                               **{k: round(v, 3) for k, v in per_kind.items()}, "min": round(min(per_kind.values()), 3)})
        kinds = kind_aucs(oofs[best], truth)
        interval_rows.append({"seed": seed, "model": best, **kind_intervals(oofs[best], truth)})
        content = content_auc(ws, truth)
        groups = truth[truth.label_raw.isin(["fake", "real"])].cascade_id.nunique()
        rows.append({"seed": seed, "videos": len(truth), "groups": groups,
                     "synth_s": round(t_synth, 1) if t_synth else None, "run_s": round(t_run, 1),
                     "train_s": round(t_train, 1), **{m: round(a, 3) for m, a in aucs.items()},
                     "best": best, "content_only": round(content, 3)})
        kinds_rows.append({"seed": seed, "model": best, **{k: round(v, 3) for k, v in kinds.items()}})
        print(pd.DataFrame(rows[-1:]).to_string(index=False), flush=True)
    print(f"\n== grouped-CV ROC-AUC (mean over folds), profile {args.profile}, {args.per_video} copies per video")
    print(pd.DataFrame(rows).to_string(index=False))
    print("\n== per manipulation kind: pooled out-of-fold ROC-AUC of the best model (kind's fakes vs all reals)")
    kinds_df = pd.DataFrame(kinds_rows)
    kind_cols = [c for c in kinds_df.columns if c not in ("seed", "model")]
    mean = {"seed": "mean", "model": "", **kinds_df[kind_cols].mean().round(3).to_dict()}
    print(pd.concat([kinds_df, pd.DataFrame([mean])], ignore_index=True).to_string(index=False))
    print(f"kinds under 0.85 on average: {[k for k in kind_cols if mean[k] < 0.85] or 'none'}")
    under = [f"seed {r['seed']} {k}" for r in kinds_rows for k in kind_cols if r.get(k, 1.0) < 0.85]
    print(f"kinds under 0.85 on a seed: {under or 'none'}")
    print("\n== the same, 90% cascade-bootstrap interval (fake cascades of the kind)")
    print(pd.DataFrame(interval_rows).to_string(index=False))
    print("\n== per manipulation kind, every model (roc_auc: mean over folds, which picks the best)")
    every = pd.DataFrame(every_rows)
    means = every.drop(columns="seed").groupby("model", sort=False).mean().round(3).reset_index().assign(seed="mean")
    print(pd.concat([every, means], ignore_index=True).to_string(index=False))
    print(f"\nworkspaces in {work}")


def build_time(args: argparse.Namespace) -> None:
    from fvc.data.synth import build
    from fvc.data.synth.check import content_stats, grouped_oof, labelled, trace_stats

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with CpuMeter() as meter:
            r = build(tmp, args.videos, args.seed, max_height=args.max_height, workers=args.workers,
                      keep_videos=args.check)
        dt = time.perf_counter() - t0
        print(f"synth: {len(r.manifest)} videos, {r.manifest.cascade_id.nunique()} cascades in {dt:.1f} s wall, "
              f"{meter.cpu:.1f} CPU s ({len(r.manifest) / dt:.2f} videos/s), workers={args.workers}, "
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-height", type=int, default=720)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--learn", action="store_true", help="run the pipeline per seed and score the feature models")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 7])
    ap.add_argument("--per-video", type=int, default=0, help="--learn: augmented copies per video")
    ap.add_argument("--profile", default="forensic_safe", help="--learn: augment.profile for the copies")
    ap.add_argument("--deep-profile", default="none", help="--learn: augment.deep_profile (copies for stage 3)")
    ap.add_argument("--models", default=FEATURE_MODELS, help="--learn: stage-2 feature models to train")
    ap.add_argument("--work", help="--learn: keep corpora and workspaces here (reused when present)")
    ap.add_argument("--force", action="store_true", help="--learn: retrain every fold (fvc train --force)")
    args = ap.parse_args()
    learn(args) if args.learn else build_time(args)


if __name__ == "__main__":
    main()
