"""How long `fvc explain` (the web page's work per upload) takes on a 10 s 720p clip.

Writes a clip of moving texture with sensor-like noise (``--seconds`` at
``--height``p, 30 fps), then explains it with a trained model of a workspace
(default: the demo's champion), ``--repeat`` times in this process, and prints
the wall time of each run with the document's own ``elapsed_s`` and the
process's CPU time, so a busy machine shows as CPU < wall x cores.

With ``--against SRC`` (another checkout's ``src`` folder, e.g. from
``git archive REV src | tar -x -C DIR``) each repeat runs the other code and
this one, interleaved, each in a child process of its own (the model loaded
first, then timed warm), prints both and their ratio, and checks that the
two documents are equal but for their ``elapsed_s``.

Usage:
  python benchmarks/bench_explain.py [-w demo/workspace] [--model models:/fvc-5beta-lgbm@champion | 5a | ...] [--seconds 10] [--height 720]
  python benchmarks/bench_explain.py -w WS --against /tmp/before/src [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
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
from in_turn import in_turn  # benchmarks/ is on the path of a script run from it


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


def decode_floor(clip: Path, fcfg, repeat: int = 3) -> None:
    """What the windows' read cannot go below: decoding the frames their plan decodes (as they decode them,
    motion vectors exported), with and without the tdisc_ thumbnails; and decoding every frame."""
    # here, not at the top: a child of --against runs this file on another checkout, which may lack them
    from fvc.data.index import probe_video
    from fvc.explain.document import strip_frames
    from fvc.explain.timeline import window_plan, windows
    from fvc.features import discontinuity
    from fvc.features.reader import decode_planned, plan_read, probe_stream

    probe = probe_video(clip)
    n, fps = int(probe["frame_count"]), float(probe["fps"])
    segments = windows(n, fps)
    plan = window_plan(clip, fcfg, segments, grab=strip_frames(segments, fps, n))
    frames = int(np.repeat(plan.needed, np.diff(np.r_[plan.starts, plan.count])).sum())
    print(f"windows' plan: {plan.mode}, {int(plan.needed.sum())} of {len(plan.starts)} GOPs, {frames} of {n} frames")

    def timed(p, thumbs: bool) -> tuple[float, float]:
        best = (np.inf, np.inf)
        for _ in range(repeat):
            c0, t0 = cpu_seconds(), time.perf_counter()
            series = discontinuity.DiffSeries()
            for i, frame in decode_planned(clip, p, motion_vectors=True):
                if thumbs:
                    series.add(i, discontinuity.thumbnail(frame), bool(frame.key_frame))
            best = min(best, (time.perf_counter() - t0, cpu_seconds() - c0), key=lambda x: x[1])
        return best

    every = plan_read(probe_stream(clip)[1], range(n), "sequential")
    for label, p, thumbs in (("decode of the planned frames", plan, False), ("  + tdisc_ thumbnails", plan, True),
                             ("decode of every frame", every, False)):
        wall, cpu = timed(p, thumbs)
        print(f"{label}: wall {wall:.2f} s, CPU {cpu:.2f} s (best of {repeat})")


def explain_once(ws: Path, model: str, clip: Path, out: Path, runs: int) -> dict:
    """Load the model, explain ``clip`` ``runs`` times; the last (warm) run's times and document."""
    predictor = Predictor(resolve_model_ref(Workspace(ws), model))
    for i in range(runs):
        c0, t0 = cpu_seconds(), time.perf_counter()
        doc = explain_video(predictor, clip, out / f"run{i}")
        wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    pngs = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / f"run{runs - 1}").glob("*.png"))}
    return {"wall": wall, "cpu": cpu, "doc": doc, "pngs": pngs}


def against(args: argparse.Namespace, clip: Path, tmp: Path) -> None:
    """Interleaved child processes: the other checkout's code, then this one's, ``--repeat`` times."""
    times: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    docs: dict[str, dict] = {}
    argv = ["-w", args.workspace, "--model", args.model, "--child", str(clip)]
    for r, label, got in in_turn(__file__, lambda out: argv + ["--child-out", str(out)], args.against, args.repeat,
                                 tmp):
        times[label].append((got["wall"], got["cpu"]))
        docs[label] = got["doc"] | {"png_sha256": got["pngs"]}
        print(f"round {r + 1} {label}: wall {got['wall']:.2f} s, CPU {got['cpu']:.2f} s "
              f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    med = {k: (float(np.median([w for w, _ in v])), float(np.median([c for _, c in v]))) for k, v in times.items()}
    for k, (w, c) in med.items():
        print(f"{k}: median wall {w:.2f} s, median CPU {c:.2f} s")
    print(f"after / before: wall {med['after'][0] / med['before'][0]:.2f}x, CPU {med['after'][1] / med['before'][1]:.2f}x")
    a, b = ({k: v for k, v in docs[s].items() if k != "elapsed_s"} for s in ("after", "before"))
    far, rel = differences(a, b)
    print(f"documents and PNGs: {'equal' if not far else 'DIFFERENT at ' + ', '.join(far[:5])} but for elapsed_s "
          f"(largest relative difference of a number: {rel:.1e}; stage-2 changes between the two code versions "
          "move the OOD z-scores by as much)")


def differences(a, b, path: str = "", tol: float = 1e-9) -> tuple[list[str], float]:
    """Paths where two JSON documents differ (numbers: beyond relative ``tol``), and the largest relative
    difference of any number."""
    if isinstance(a, dict) and isinstance(b, dict):
        out, worst = ([f"{path}/{k}" for k in set(a) ^ set(b)], 0.0)
        pairs = [(a[k], b[k], f"{path}/{k}") for k in set(a) & set(b)]
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out, worst = [], 0.0
        pairs = [(x, y, f"{path}[{i}]") for i, (x, y) in enumerate(zip(a, b))]
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if a != a and b != b:  # both NaN
            return [], 0.0
        rel = abs(a - b) / max(abs(a), abs(b), 1e-300) if a != b else 0.0
        rel = rel if rel == rel else float("inf")  # one NaN
        return ([path] if rel > tol else []), rel
    else:
        return ([path] if a != b else []), 0.0
    for x, y, p in pairs:
        f, r = differences(x, y, p, tol)
        out += f
        worst = max(worst, r)
    return out, worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-w", "--workspace", default="demo/workspace")
    ap.add_argument("--model", default="models:/fvc-5beta-lgbm@champion",
                    help="a model id, folder or registry URI (as fvc explain --model)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--against", help="another checkout's src folder: time it and this one, interleaved")
    ap.add_argument("--clip", type=Path, help="explain this video instead of writing the generated clip")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    ws = Path(args.workspace)
    with tempfile.TemporaryDirectory(prefix="bench-explain-") as tmp:
        tmp = Path(tmp)
        if args.child:  # one side of --against: two runs (the first warms the imports up), the second timed
            got = explain_once(ws, args.model, args.child, tmp, runs=2)
            args.child_out.write_text(json.dumps(got, default=str))
            return
        t0 = time.perf_counter()
        clip = args.clip or write_clip(tmp / "clip.mp4", args.seconds, args.height)
        print(f"clip: {clip.name}, {args.seconds:g} s at {args.height}p, ready in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        predictor = Predictor(resolve_model_ref(Workspace(ws), args.model))
        print(f"model {predictor.card.model_id} ({predictor.card.family}, {predictor.card.preset}) loaded in "
              f"{time.perf_counter() - t0:.1f} s")
        if predictor.kind != "deep":
            decode_floor(clip, predictor.card.features_config)
        if args.against:
            against(args, clip, tmp)
            return
        for i in range(args.repeat):
            c0, t0 = cpu_seconds(), time.perf_counter()
            doc = explain_video(predictor, clip, tmp / f"out{i}")
            wall = time.perf_counter() - t0
            print(f"run {i + 1}: wall {wall:.2f} s, elapsed_s {doc['elapsed_s']:.2f}, CPU {cpu_seconds() - c0:.2f} s, "
                  f"segments {len(doc['timeline']['segments'])}, p(fake) {doc['verdict']['prob_fake']:.3f}, "
                  f"ood warning {doc['ood'].get('warning')}")


if __name__ == "__main__":
    main()
