"""How long `fvc explain` (the web page's work per upload) takes on a 10 s 720p clip.

Writes a clip of moving texture with sensor-like noise (``--seconds`` at
``--height``p, 30 fps), then explains it with a trained model of a workspace
(default: the demo's champion), ``--repeat`` times in this process, and prints
the wall time of each run with the document's own ``elapsed_s`` and the
process's CPU time, so a busy machine shows as CPU < wall x cores.

Usage:
  python benchmarks/bench_explain.py [-w demo/workspace] [--model models:/fvc-5beta-lgbm@champion | 5a | ...] [--seconds 10] [--height 720]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from fvc.explain import explain_video
from fvc.predict import Predictor
from fvc.tracking.model_registry import resolve_model_ref
from fvc.video.encode import Encoder
from fvc.workspace import Workspace


def write_clip(path: Path, seconds: float, height: int, fps: int = 30, seed: int = 0) -> Path:
    width = int(round(height * 16 / 9)) // 2 * 2
    rng = np.random.default_rng(seed)
    n = int(seconds * fps)
    yy, xx = np.mgrid[0:height + 2 * n, 0:width + 3 * n].astype(np.float32)
    texture = (128 + 60 * np.sin(xx / 37.0) * np.cos(yy / 53.0)).astype(np.float32)  # panned, not recomputed
    noise = rng.normal(0, 4, size=(8, height, width)).astype(np.float32)
    with Encoder(path, fps=fps, width=width, height=height, codec="libx264", pix_fmt="yuv420p") as w:
        for i in range(n):
            frame = texture[2 * i:2 * i + height, 3 * i:3 * i + width] + noise[i % 8]
            w.write(np.repeat(np.clip(frame, 0, 255).astype(np.uint8)[..., None], 3, axis=2))
    return path


def cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-w", "--workspace", default="demo/workspace")
    ap.add_argument("--model", default="models:/fvc-5beta-lgbm@champion",
                    help="a model id, folder or registry URI (as fvc explain --model)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    ws = Workspace(Path(args.workspace))
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        clip = write_clip(tmp / "clip.mp4", args.seconds, args.height)
        print(f"clip: {args.seconds:g} s at {args.height}p written in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        predictor = Predictor(resolve_model_ref(ws, args.model))
        print(f"model {predictor.card.model_id} ({predictor.card.family}, {predictor.card.preset}) loaded in "
              f"{time.perf_counter() - t0:.1f} s")
        for i in range(args.repeat):
            c0, t0 = cpu_seconds(), time.perf_counter()
            doc = explain_video(predictor, clip, tmp / f"out{i}")
            wall = time.perf_counter() - t0
            print(f"run {i + 1}: wall {wall:.2f} s, elapsed_s {doc['elapsed_s']:.2f}, CPU {cpu_seconds() - c0:.2f} s, "
                  f"segments {len(doc['timeline']['segments'])}, p(fake) {doc['verdict']['prob_fake']:.3f}, "
                  f"ood warning {doc['ood'].get('warning')}")


if __name__ == "__main__":
    main()
