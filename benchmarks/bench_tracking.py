"""Tracking and analytics benchmark: MLflow store open, log_model per model, DuckDB query times.

  python benchmarks/bench_tracking.py [--videos 2000] [--features 40] [--repeat 3] [--deep 5c,5d] [--keep DIR]

1. MLflow store: ``open_store`` on a new workspace (creates the sqlite schema)
   and again on the existing one (what every ``fvc train`` / ``promote`` pays).
2. ``log_model`` seconds per final model (target < 2 s): a feature model (5a,
   trained through ``run_training`` with the MLflow observer, as ``fvc train``
   does, then logged again ``--repeat`` times), and deep models (``model.pt``
   from the smoke preset of 5c; 5d at its full R3D-18 size, no pretrained
   weights, to show large weights). MLflow's one-time installed-package scan,
   which ``fvc train`` overlaps with training, is timed on its own.
3. DuckDB: ``connect`` (views over every table) and every named query over a
   generated workspace of ``--videos`` indexed videos, 4 augmented copies each,
   stage-2/stage-4 features, results and out-of-fold predictions of 4 models,
   the exported MLflow runs and the JSONL experiment log. Best of 3 after a warm-up run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("CI", "true")  # no progress bars in the numbers

import numpy as np
import pandas as pd

from fvc.workspace import Workspace

CODECS = ["h264", "hevc", "vp9", "mpeg4"]
PREFIXES = ("noise_", "dct_", "sharp_", "block_", "temporal_")


def _t(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


def make_tables(ws: Workspace, n: int, n_feat: int, seed: int = 0) -> None:
    """index, splits, augmented, scaled, features_stage2/4 for ``n`` videos (2% failures per stage)."""
    rng = np.random.default_rng(seed)
    ids = [f"v{i:05d}" for i in range(n)]
    label = pd.array(rng.integers(0, 2, n), dtype="Int64")
    label[rng.random(n) < 0.05] = pd.NA
    err = lambda k: np.where(rng.random(k) < 0.02, "cannot decode: invalid data", None)  # noqa: E731
    fold = rng.integers(0, 5, n)
    ws.write("index", pd.DataFrame({
        "video_id": ids, "label": label, "label_raw": np.where(label.fillna(0) == 1, "fake", "real"),
        "codec": rng.choice(CODECS, n), "width": rng.choice([640, 1280, 1920], n),
        "height": rng.choice([360, 720, 1080], n), "fps": rng.choice([25.0, 30.0], n),
        "duration": rng.uniform(5, 120, n), "file_size": rng.integers(10**5, 10**8, n), "error": err(n)}))
    ws.write("splits", pd.DataFrame({"video_id": ids, "cascade_id": ids, "group_id": [f"g{i // 3}" for i in range(n)],
                                     "label": label, "fold": fold}))
    aug_ids = [f"{v}_a{k}" for v in ids for k in range(4)]
    m = len(aug_ids)
    src = np.repeat(ids, 4)
    ws.write("augmented", pd.DataFrame({"video_id": aug_ids, "source_video_id": src, "aug_index": np.tile(range(4), n),
                                        "params": "{}", "path": [f"stages/augmented/{a}.mp4" for a in aug_ids],
                                        "fold": np.repeat(fold, 4), "label": np.repeat(label, 4), "error": err(m)}))
    ws.write("scaled", pd.DataFrame({"video_id": aug_ids, "source_video_id": src, "width": 256, "height": 256,
                                     "method": "letterbox", "fold": np.repeat(fold, 4), "label": np.repeat(label, 4),
                                     "error": err(m)}))
    for stage in (2, 4):
        names = [f"{PREFIXES[j % len(PREFIXES)]}f{j:02d}" for j in range(n_feat)]  # fvc's feature prefixes
        feats = pd.DataFrame(rng.normal(size=(m, n_feat)), columns=names)
        feats[names[0]] += np.repeat(label.fillna(0).to_numpy(dtype=float), 4)
        feats.insert(0, "video_id", aug_ids)
        feats["source_video_id"], feats["fold"], feats["label"], feats["error"] = src, np.repeat(fold, 4), \
            np.repeat(label, 4), err(m)
        ws.write(f"features_stage{stage}", feats)


def make_results(ws: Workspace, models: list[str], seed: int = 1) -> None:
    """results/<id>/ with metrics.json and out-of-fold predictions, through the shared result layout."""
    from fvc.experiment import RunConfig
    from fvc.experiment.result_files import build_summary, save_cv_result

    rng = np.random.default_rng(seed)
    feats = ws.read("features_stage2")
    base = feats.loc[feats["label"].notna(), ["video_id", "source_video_id", "fold", "label"]].copy()
    base["label"] = base["label"].astype(int)
    for mid in models:
        oof = base.assign(prob=np.clip(0.5 + 0.3 * (base["label"] - 0.5) + rng.normal(0, 0.25, len(base)), 0, 1))
        rc = RunConfig(model=mid)
        save_cv_result(ws, build_summary(mid, oof, config_hash=rc.hash(), run_config=rc), oof, rc, None)


def bench_store(root: Path) -> tuple[Workspace, object]:
    from fvc.tracking.mlflow_store import open_store

    ws = Workspace(root / "ws").ensure()
    store, new = _t(open_store, ws)
    _, again = _t(open_store, ws)
    print(f"MLflow store open: new sqlite store {new:.2f} s, existing store {again:.3f} s")
    return ws, store


def bench_feature_model(ws: Workspace, store, repeat: int) -> list[float]:
    """5a through the experiment loop with the MLflow observer (as `fvc train`), then ``repeat`` more log_model calls."""
    from fvc.config import FvcConfig
    from fvc.experiment import default_run_config, run_experiment
    from fvc.tracking.jsonl_log import JsonlObserver
    from fvc.tracking.mlflow_observer import MlflowObserver
    from fvc.tracking.model_registry import log_final_model

    obs = MlflowObserver(ws, store=store, export=False)
    res, train_s = _t(run_experiment, ws, FvcConfig(), default_run_config("5a"), [obs, JsonlObserver(ws)])
    times = [obs.logged_model.seconds]
    for _ in range(repeat - 1):
        run = store.client.create_run(store.experiment_id, run_name="bench-5a")
        times.append(log_final_model(store, run.info.run_id, "5a", res.final_model_path, res.summary).seconds)
        store.client.set_terminated(run.info.run_id)
    print(f"feature model 5a: fvc train (CV + tracking) {train_s:.1f} s; log_model "
          f"first {times[0]:.2f} s (package scan overlapped with training), "
          f"median {statistics.median(times):.2f} s, max {max(times):.2f} s over {len(times)}")
    return times


def bench_deep_model(ws: Workspace, store, model_id: str, repeat: int) -> list[float]:
    import torch

    from fvc.config import FvcConfig
    from fvc.models import get_model
    from fvc.models.saved import ModelCard, save_deep_model
    from fvc.tracking.model_registry import log_final_model

    d = get_model(model_id)
    preset = "smoke" if model_id == "5c" else "full"
    resolved = d.preset(preset, {"weights": None} if d.has_weights else None)
    torch.manual_seed(0)
    model = d.build(resolved["model"])
    cfg = FvcConfig()
    card = ModelCard(model_id=model_id, name=d.name, family="deep", preset=preset,
                     data=d.data_config(resolved).as_dict(), features=cfg.features.model_dump(),
                     scale=cfg.scale.model_dump(), config_hash="bench", data_fingerprint="bench",
                     model_kwargs=dict(resolved["model"]))
    path = save_deep_model(ws.results_dir / model_id, model, card)
    mb = path.stat().st_size / 2**20
    params = sum(p.numel() for p in model.parameters()) / 1e6
    summary = {"mean": {"roc_auc": 0.5}, "config_hash": "bench", "family": "deep"}
    times = []
    for _ in range(repeat):
        run = store.client.create_run(store.experiment_id, run_name=f"bench-{model_id}")
        times.append(log_final_model(store, run.info.run_id, model_id, path, summary).seconds)
        store.client.set_terminated(run.info.run_id)
    print(f"deep model {model_id} ({preset}, {params:.2f} M params, {mb:.1f} MB): log_model "
          f"first {times[0]:.2f} s, median {statistics.median(times):.2f} s, max {max(times):.2f} s over {repeat}")
    return times


def bench_queries(ws: Workspace) -> dict[str, float]:
    from fvc.analytics import NAMED_QUERIES, connect, named_sql
    from fvc.errors import FvcError

    an, conn_s = _t(connect, ws)
    print(f"DuckDB connect (views over {len(an.views)} tables): {conn_s * 1000:.1f} ms")
    out = {}
    with an:
        for name in NAMED_QUERIES:
            try:
                sql = named_sql(an, name)
            except FvcError as exc:
                print(f"  {name:24s} skipped: {exc}")
                continue
            an.sql(sql)  # first run reads Parquet metadata; the second is what a repeat costs
            best = min(an.timed(sql)[1] for _ in range(3))
            df = an.sql(sql)
            out[name] = best
            print(f"  {name:24s} {best * 1000:8.1f} ms  ({len(df)} rows)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=2000)
    ap.add_argument("--features", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--deep", default="5c,5d", help="deep model ids to log (comma list; '' for none)")
    ap.add_argument("--keep", type=Path, help="build the workspace here and keep it")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        root = args.keep or Path(tmp)
        ws, store = bench_store(root)
        t0 = time.perf_counter()
        make_tables(ws, args.videos, args.features)
        make_results(ws, ["5b", "5beta-xgb", "5c", "5d"])
        print(f"workspace: {args.videos} videos, {4 * args.videos} augmented/scaled/feature rows, "
              f"{args.features} features per stage (built in {time.perf_counter() - t0:.1f} s)")
        feat = bench_feature_model(ws, store, args.repeat)
        deep = {m: bench_deep_model(ws, store, m, args.repeat) for m in filter(None, args.deep.split(","))}
        from fvc.tracking.export import export_runs

        n_runs, export_s = _t(export_runs, ws, store)
        print(f"MLflow runs export: {n_runs} runs in {export_s:.2f} s")
        bench_queries(ws)
        worst = max([max(feat)] + [max(t) for t in deep.values()])
        print(f"log_model target < 2 s per model: worst {worst:.2f} s -> {'OK' if worst < 2 else 'ABOVE TARGET'}")


if __name__ == "__main__":
    main()
