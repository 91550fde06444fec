"""Stage-2 feature benchmark: cost relative to the decode floor, frames/s, per-family cost, peak memory.

  python benchmarks/bench_features.py [--demo-videos 40] [--hd-videos 2] [--work DIR] [--repeat 2] [--memory]
  python benchmarks/bench_features.py --work DIR --against /tmp/before/src [--rounds 3]

Two corpora: the demo corpus (``fvc synth``, seed 7, its plain video files)
and a 720p 60 s corpus rendered here (a camera pan over a photograph with
sensor noise; one video with x264's default GOP, one with a 0.5 s GOP, where
'auto' sampling seeks). ``--work`` keeps both for the next run.

Per corpus, measured in the same run, video after video, interleaved, the
best of ``--repeat`` runs of each (the machine is shared: only ratios
measured side by side mean anything):
- decode floor: PyAV opening the file once and decoding exactly the frames
  the features need (the same packet pass and planned GOPs), the wanted ones
  to grey, with the same decoder threading as the feature read of that video
  (``reader.decoder_threading``: slice threads where motion vectors are
  exported, FFmpeg's automatic frame threads elsewhere), in the same process
  (whose first open tuned its frame memory, ``video.memory``, for both); the
  line "decoder threading" says which threading, per video;
- feature time (``video_features``, untimed, as stage 2 runs it) over the
  floor, in wall time and in process CPU time (all threads; steadier than
  wall time on a loaded machine); target <= 1.3x;
- sampled and decoded frames per second;
- per-family cost in CPU ms per frame it runs on (sampled frames for the frame
  families, decoded frames for the discontinuity thumbnails), from one more,
  timed, run of each video.
``--memory``: peak RSS of the ``fvc features`` process alone on a 1080p 60 s
video, computing the features itself (``--workers 1``; target <= 400 MB).
``--against OTHER/src [--rounds 3]``: this checkout and another one (with the
same reader and memory APIs, i.e. from the same commit on) measured in turn,
each round a child process per side; prints each round's ratios and the
medians.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from fvc.config import FvcConfig
from fvc.data.index import build_index
from fvc.features.extract import FAMILIES, Timings, video_features
from fvc.features import motion
from fvc.features.reader import decoder_threading, open_read, plan_read, probe_stream
from fvc.video.encode import Encoder
from fvc.video.io import frame_to_gray, sample_indices
from fvc.workspace import Workspace
from in_turn import in_turn, load_passes  # benchmarks/ is on the path of a script run from it

FVC = str(Path(sys.executable).with_name("fvc"))
PER_SAMPLED = tuple(name for name, _, _ in FAMILIES) + ("motion", "temporal", "to_grey")


def demo_corpus(work: Path, n: int) -> list[Path]:
    out = work / f"demo-v{n}-s7"
    if not (out / "videos").is_dir():
        subprocess.run([FVC, "synth", "--out", str(out), "--videos", str(n), "--seed", "7", "--keep-videos"],
                       check=True, env=dict(os.environ, CI="true"), stdout=subprocess.DEVNULL)
    return sorted(p for p in (out / "videos").iterdir() if p.is_file())


def _photo(w: int, h: int) -> np.ndarray:
    import skimage.data

    return cv2.resize(skimage.data.astronaut(), (w, h), interpolation=cv2.INTER_CUBIC)


def hd_corpus(work: Path, n: int, seconds: int = 60, fps: int = 25) -> list[Path]:
    """720p videos of ``seconds``: a slow pan with sensor noise; odd ones with a 0.5 s GOP."""
    out = work / f"hd720-{seconds}s"
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(n):
        gop = 12 if k % 2 else None
        p = out / f"hd{k}-{'gop12' if gop else 'gopdefault'}.mp4"
        paths.append(p)
        if p.exists():
            continue
        rng = np.random.default_rng(k)
        img = _photo(1280 + 400, 720 + 100)
        opts = {"preset": "veryfast", "crf": "23", **({"g": str(gop)} if gop else {})}
        tmp = p.with_suffix(".part.mp4")
        with Encoder(tmp, fps, 1280, 720, options=opts) as vw:
            for t in range(seconds * fps):
                x, y = int(200 + 190 * np.sin(t / 90 + k)), int(50 + 45 * np.sin(t / 70))
                f = img[y:y + 720, x:x + 1280].astype(np.int16) + rng.integers(-6, 7, (720, 1280, 1), dtype=np.int16)
                vw.write(np.clip(f, 0, 255).astype(np.uint8))
        tmp.rename(p)
    return paths


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t0: tuple[float, float]) -> np.ndarray:
    w, c = _clock()
    return np.array([w - t0[0], c - t0[1]])


def _floor(path: Path, wanted: list[int], mode: str, thread_type: str) -> np.ndarray:
    """(wall, cpu) seconds of one open, the packet pass and the planned decode, wanted frames to grey."""
    t0 = _clock()
    with open_read(path) as read:
        keep = set(wanted)
        for i, frame in read.frames(plan_read(read.tally, wanted, mode), thread_type=thread_type):
            if i in keep:
                frame_to_gray(frame)
    return _since(t0)


def load_cost() -> None:
    """Print what a fresh process pays before its first frame: importing the feature code, then loading the
    compiled passes (built into the cache first if this is the first run of these sources), once per process."""
    code = ("import time\nt0 = time.perf_counter()\nimport fvc.features.extract\nt1 = time.perf_counter()\n"
            "import sys\nsys.path.insert(0, sys.argv[1])\nimport in_turn\nin_turn.load_passes()\n"
            "print(t1 - t0, time.perf_counter() - t1)")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], check=True, capture_output=True,
                         text=True).stdout.split()
    print(f"a fresh process: importing the feature code {float(out[0]):.2f} s, then loading the compiled passes "
          f"{float(out[1]):.3f} s (once per process, before its first frame)")


def measure(paths: list[Path], repeat: int) -> dict:
    fcfg = FvcConfig().features
    tot = {"floor": np.zeros(2), "feat": np.zeros(2), "sampled": 0, "decoded": 0, "seek": 0}
    fam: dict[str, float] = {}
    threading: dict[str, int] = {}
    for p in paths:
        facts, tally = probe_stream(p)
        n = tally.count
        idx = sample_indices(int(n), fcfg.sample_fraction, fcfg.min_frames, fcfg.max_frames)
        wanted = sorted(set(idx) | {i + 1 for i in idx if i + 1 < n})
        # the feature read's own threading for this video (motion vectors or not): like with like
        thread_type = decoder_threading(facts["codec"] in motion.CODECS)
        threading[thread_type] = threading.get(thread_type, 0) + 1
        # one timed run first: the per-family costs, the plan's mode and the decoded frames (timing costs a
        # system call per decoded frame, so the runs that are compared with the floor are untimed, as in stage 2)
        timings = Timings()
        feats = video_features(p, fcfg, timings)
        best = {"floor": np.full(2, np.inf), "feat": np.full(2, np.inf)}
        for _ in range(repeat):  # interleaved, best of each: the least disturbed run of each
            t0 = _clock()
            video_features(p, fcfg)
            best["feat"] = np.minimum(best["feat"], _since(t0))
            best["floor"] = np.minimum(best["floor"], _floor(p, wanted, timings.modes[0], thread_type))
        for k in best:
            tot[k] += best[k]
        tot["sampled"] += feats["n_frames_sampled"]
        tot["decoded"] += timings.frames_decoded
        tot["seek"] += timings.modes[0] == "seek"
        for k, v in timings.items():
            fam[k] = fam.get(k, 0.0) + v
    return {**tot, "families": fam, "threading": threading}


def report(name: str, paths: list[Path], r: dict) -> None:
    fam = r["families"]
    print(f"\n== {name}: {len(paths)} videos, {r['sampled']} sampled frames, {r['decoded']} decoded "
          f"({r['seek']} read with 'seek')")
    how = {"SLICE": "slice threads (x264 writes one slice per frame: in effect one thread)",
           "AUTO": "frame threads, FFmpeg's automatic count"}
    print("decoder threading, the floor and the features alike: "
          + "; ".join(f"{how.get(k, k)} for {v} video(s)" for k, v in sorted(r["threading"].items())))
    (fw, fc), (tw, tc) = r["floor"], r["feat"]
    print(f"decode floor (same frames, same threading): {fw:.2f} s wall, {fc:.2f} s CPU")
    print(f"features: {tw:.2f} s wall, {tc:.2f} s CPU = {tw / fw:.2f}x the floor in wall time, "
          f"{tc / fc:.2f}x in CPU time (target <= 1.3x)")
    print(f"frames/s (wall): {r['sampled'] / tw:.1f} sampled, {r['decoded'] / tw:.0f} decoded")
    rows = [(k, fam.get(k, 0.0) * 1000 / max(1, r["sampled"]), "sampled frame") for k in PER_SAMPLED]
    rows.append(("discontinuity", fam.get("discontinuity", 0.0) * 1000 / max(1, r["decoded"]), "decoded frame"))
    rows.append(("gop (extra keyframes)", fam.get("gop", 0.0) * 1000, "corpus total"))
    inner = sum(v for k, v in fam.items() if k != "loop_total")
    rows.append(("decode + loop", (fam.get("loop_total", 0.0) - inner) * 1000 / max(1, r["decoded"]), "decoded frame"))
    print("per family (CPU ms of the thread running it; decode + loop: the process's; a timed run of each video):")
    print(pd.DataFrame(rows, columns=["family", "ms", "per"]).round(3).to_string(index=False))


def peak_memory(tmp: Path) -> None:
    ws = Workspace(tmp / "memws").ensure()
    path = ws.root / "raw" / "hd.mp4"
    t0 = time.perf_counter()
    scene = _photo(1920 + 200, 1080)
    with Encoder(path, 25, 1920, 1080, bit_rate=800_000, options={"preset": "ultrafast"}) as vw:
        for t in range(60 * 25):
            x = int(100 + 90 * np.sin(t / 80))
            vw.write(np.ascontiguousarray(scene[:, x:x + 1920]))
    print(f"\ngenerated 1080p 60 s video ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f} s")
    videos = pd.DataFrame([{"video_id": "hd", "path": "raw/hd.mp4", "cascade_id": "c0", "label": 1}])
    videos["label"] = videos["label"].astype("Int64")
    ws.write("index", build_index(videos, ws.root, workers=1))
    ws.write("splits", pd.DataFrame({"video_id": ["hd"], "cascade_id": ["c0"], "group_id": ["c0"],
                                     "label": pd.array([1], dtype="Int64"), "fold": [0]}))
    t0 = time.perf_counter()
    # one worker: the features are computed in this process (a pool's workers are not its waited children)
    proc = subprocess.Popen([FVC, "features", "-w", str(ws.root), "--stage", "2", "--workers", "1"],
                            env={**os.environ, "CI": "true"}, stdout=subprocess.DEVNULL)
    # this process's own rusage: RUSAGE_CHILDREN would also count earlier children (fvc synth)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"fvc features failed (exit {proc.returncode})")
    peak_mb = usage.ru_maxrss / 1024
    t = ws.read("features_stage2")
    assert t["error"].isna().all(), t["error"].iloc[0]
    print(f"fvc features on 1080p 60 s ({int(t['n_frames_sampled'].iloc[0])} sampled of 1500 frames): "
          f"{elapsed:.1f} s, peak RSS {peak_mb:.0f} MB (target <= 400 MB)")


def ratios(r: dict) -> dict[str, float]:
    """The numbers one side of ``--against`` reports for a corpus."""
    (fw, fc), (tw, tc) = r["floor"], r["feat"]
    return {"cpu_ratio": tc / fc, "wall_ratio": tw / fw, "feat_cpu": tc, "floor_cpu": fc}


def against(args: argparse.Namespace, work: Path) -> None:
    """This checkout and ``args.against`` (another checkout's src, with the APIs of this one's), each in its own
    child process, one after the other for ``--rounds`` rounds: on a shared machine only ratios taken in turn
    compare."""
    if args.demo_videos:  # the corpora once, here, before either side is timed
        demo_corpus(work, args.demo_videos)
    if args.hd_videos:
        hd_corpus(work, args.hd_videos)
    got: dict[str, list[dict]] = {"before": [], "after": []}
    argv = ["--work", str(work), "--demo-videos", str(args.demo_videos), "--hd-videos", str(args.hd_videos),
            "--repeat", str(args.repeat)]
    for r, label, result in in_turn(__file__, lambda out: argv + ["--child-json", str(out)], args.against,
                                    args.rounds, work, quiet=True):
        got[label].append(result)
        print(f"round {r + 1} {label}: " + "; ".join(f"{c} {v['cpu_ratio']:.2f}x CPU, {v['wall_ratio']:.2f}x wall"
                                                    for c, v in result.items())
              + f" (load average {os.getloadavg()[0]:.1f})", flush=True)
    for corpus in got["after"][0]:
        med = {k: {m: float(np.median([g[corpus][m] for g in v])) for m in got["after"][0][corpus]}
               for k, v in got.items()}
        print(f"{corpus}, medians of {args.rounds} rounds: CPU ratio {med['before']['cpu_ratio']:.2f}x before, "
              f"{med['after']['cpu_ratio']:.2f}x after; feature CPU {med['before']['feat_cpu']:.2f} s before, "
              f"{med['after']['feat_cpu']:.2f} s after ({med['after']['feat_cpu'] / med['before']['feat_cpu']:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo-videos", type=int, default=40, help="demo corpus size (fvc synth, seed 7); 0 skips it")
    ap.add_argument("--hd-videos", type=int, default=2, help="720p 60 s videos; 0 skips them")
    ap.add_argument("--repeat", type=int, default=2, help="runs per video; the best of each measure counts")
    ap.add_argument("--work", type=Path, help="keep the corpora here (reused when present)")
    ap.add_argument("--memory", action="store_true", help="also measure peak RSS on a 1080p 60 s video")
    ap.add_argument("--against", help="another checkout's src folder: time it and this one in turn")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of --against")
    ap.add_argument("--child-json", type=Path, help=argparse.SUPPRESS)  # one side of --against
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work = args.work or Path(d)
        if args.against:
            against(args, work)
            return
        results = {}
        if not args.child_json:
            load_cost()
        load_passes()
        if args.demo_videos:
            paths = demo_corpus(work, args.demo_videos)
            results["demo"] = measure(paths, args.repeat)
            report(f"demo corpus (fvc synth --videos {args.demo_videos} --seed 7)", paths, results["demo"])
        if args.hd_videos:
            paths = hd_corpus(work, args.hd_videos)
            results["720p"] = measure(paths, args.repeat)
            report("720p 60 s corpus", paths, results["720p"])
        if args.child_json:
            args.child_json.write_text(json.dumps({k: ratios(v) for k, v in results.items()}))
        if args.memory:
            peak_memory(Path(d))


if __name__ == "__main__":
    main()
