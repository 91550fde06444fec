"""Why the project's x264 settings (fvc.video.encode) are what they are: determinism and speed.

Three measurements, each on the same generated frames (a panning noisy texture):

1. Thread count. ``threads=auto`` (x264's default) against fixed counts (1
   and 2): the same frames encoded in two processes pinned to different CPU
   sets. Auto sizes the thread pool from the CPU affinity, and the stream
   changes with it; a fixed count gives one stream.
2. SIMD level. Each x264 ``asm`` level encodes the frames in three processes
   whose fresh memory glibc fills with different bytes (``MALLOC_PERTURB_``):
   an encoder that reads bytes it never wrote gives different streams. Also
   whether the level's output is bit-identical to the C paths (``asm=0``).
3. Speed: CPU seconds per frame of each level at 640x360 and 1280x720.

Usage: python benchmarks/bench_encode.py [--frames 30] [--sizes 112x64,144x256,320x240,426x240,640x360]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
from fractions import Fraction

import av
import cv2
import numpy as np

LEVELS = ("auto", "AVX2", "SSE2", "0")  # auto: x264's own choice (AVX-512 where the CPU has it)


def frames(seed: int, w: int, h: int, n: int):
    rng = np.random.default_rng(seed)
    tex = cv2.resize(rng.integers(0, 255, (h // 4 + 8, w // 4 + 40, 3), dtype=np.uint8), None, fx=4, fy=4,
                     interpolation=cv2.INTER_CUBIC)
    for i in range(n):
        img = tex[:h, 2 * i: 2 * i + w].astype(np.int16) + rng.integers(-6, 7, (h, w, 3), dtype=np.int16)
        yield np.clip(img, 0, 255).astype(np.uint8)


def encode(w: int, h: int, n: int, threads: str, asm: str, seed: int = 0) -> tuple[str, float]:
    """sha256 of the encoded stream and the CPU seconds the encode took (frames prepared first)."""
    from fvc.video.encode import defined_frame

    prepared = [defined_frame(f) for f in frames(seed, w, h, n)]
    path = f"/tmp/bench-encode-{os.getpid()}.mp4"
    params = f"threads={threads}:lookahead-threads=1" if threads != "auto" else ""
    if asm != "auto":
        params += f"{':' if params else ''}asm={asm}"
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    with av.open(path, "w", container_options={"fflags": "+bitexact"}) as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        if threads != "auto":
            s.codec_context.thread_count = int(threads)
        s.options = {"preset": "veryfast", "crf": "20", **({"x264-params": params} if params else {}),
                     **({"threads": threads} if threads != "auto" else {})}
        for i, f in enumerate(prepared):
            f.pts, f.time_base = i, Fraction(1, 25)
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:16]
    os.unlink(path)
    return digest, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime


def worker(spec: dict) -> None:
    if spec.get("cpus"):
        os.sched_setaffinity(0, spec["cpus"])
    out = {}
    for w, h in spec["sizes"]:
        for seed in range(spec["seeds"]):
            out[f"{w}x{h}/{seed}"] = encode(w, h, spec["frames"], spec["threads"], spec["asm"], seed)
    print(json.dumps(out))


def run(spec: dict, env: dict | None = None) -> dict:
    res = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True,
                         env=dict(os.environ, **(env or {})), check=True)
    return json.loads(res.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--sizes", default="112x64,144x256,320x240,426x240,640x360")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return
    sizes = [tuple(map(int, s.split("x"))) for s in args.sizes.split(",")]
    cpus = sorted(os.sched_getaffinity(0))
    base = {"sizes": sizes, "frames": args.frames, "seeds": 3, "asm": "SSE2"}

    print(f"1. thread count: two processes pinned to CPUs {cpus[:1]} and {cpus}")
    for threads in ("auto", "1", "2"):
        a = run({**base, "threads": threads, "cpus": cpus[:1]})
        b = run({**base, "threads": threads, "cpus": cpus})
        diff = sum(a[k][0] != b[k][0] for k in a)
        print(f"   threads={threads:<5} streams that differ: {diff} of {len(a)}")

    print("2. SIMD level: three processes with MALLOC_PERTURB_ unset, 165 and 42 (threads=1)")
    ref = run({**base, "threads": "1", "asm": "0"})
    for asm in LEVELS:
        outs = [run({**base, "threads": "1", "asm": asm}, {"MALLOC_PERTURB_": p} if p else None)
                for p in ("", "165", "42")]
        unstable = sorted({k.split("/")[0] for k in outs[0] if len({o[k][0] for o in outs}) > 1})
        same_as_c = all(outs[0][k][0] == ref[k][0] for k in ref)
        print(f"   asm={asm:<5} output depends on uninitialised memory at: {unstable or 'no size'}; "
              f"bit-identical to asm=0: {same_as_c}")

    print("3. speed: CPU ms per frame (threads=1, preset veryfast, crf 20)")
    for w, h in ((640, 360), (1280, 720)):
        cells = []
        for asm in LEVELS:
            t = run({"sizes": [(w, h)], "frames": args.frames, "seeds": 1, "threads": "1", "asm": asm})
            cells.append(f"asm={asm} {1000 * t[f'{w}x{h}/0'][1] / args.frames:.1f}")
        print(f"   {w}x{h}: " + ", ".join(cells))


if __name__ == "__main__":
    main()
