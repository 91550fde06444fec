"""Building a whole corpus: plan, render in a process pool, write CSVs, ground truth and zips."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...errors import InputError
from ...progress import progress_iter
from ...workspace import atomic_write_text
from .archive import write_archive, write_plain
from .corpus import ARCHIVES, SizeOptions, VideoJob, plan_corpus
from .encode import probe

DEFAULT_PASSWORD = "fvc-synth"
DEFAULT_VIDEOS = 120
ARCHIVE_METHODS = {"FVC1.zip": "aes", "FVC2.zip": "aes", "FVC3.zip": "zipcrypto"}
GROUND_TRUTH_COLUMNS = [
    "file_name", "cascade_id", "label_raw", "role", "source", "manipulation", "variant", "near_dup_transform",
    "parent", "container", "codec", "width", "height", "fps", "frames", "duration", "has_audio", "audio_codec",
    "bit_rate", "gop", "archive", "scene", "video_url", "platform", "platform_id",
]


@dataclass
class BuildResult:
    """What a build wrote and how long it took."""

    out_dir: Path
    manifest: pd.DataFrame
    password: str
    seconds: float


def resolve_password(password: str | None) -> str:
    """Explicit password, else $FVC_ARCHIVE_PASSWORD, else the documented default."""
    return password or os.environ.get("FVC_ARCHIVE_PASSWORD") or DEFAULT_PASSWORD


def _check_out_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe_file = out_dir / ".fvc-write-test"
        probe_file.write_bytes(b"")
        probe_file.unlink()
    except OSError as exc:
        raise InputError(out_dir, f"cannot write the corpus here ({exc.strerror or exc})") from exc


def _cost(job: VideoJob) -> float:
    return job.n_frames * job.encode.width * job.encode.height * (2.0 if job.fake else 1.0)


def _make_one(args: tuple[VideoJob, str, int]) -> tuple[str, dict]:
    """Worker: render one file, then read back what a user would see."""
    import cv2

    from .render import make_video

    cv2.setNumThreads(1)
    job, work, seed = args
    path = make_video(job, Path(work), seed)
    return job.file_name, probe(path)


def _archive_one(args: tuple[str, list[str], str, str]) -> str:
    path, files, password, method = args
    write_archive(path, [Path(f) for f in files], password, method)
    return path


class _Runner:
    """Maps work over one process pool for the whole build (workers start once), or in-process.

    Workers come from a fork server where the platform has one: forking the
    caller directly deadlocked when it already ran threads (a test process that
    had decoded and encoded before hung in a worker holding a copied lock).
    Callers' scripts need the usual ``if __name__ == "__main__"`` guard.
    """

    def __init__(self, workers: int):
        method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
        self.pool = mp.get_context(method).Pool(workers) if workers > 1 else None

    def run(self, fn, items: list, description: str) -> list:
        if self.pool is None or len(items) <= 1:
            return [fn(x) for x in progress_iter(items, description, total=len(items))]
        return list(progress_iter(self.pool.imap_unordered(fn, items), description, total=len(items)))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool.join()


def build_corpus(out_dir: str | Path, n_videos: int = DEFAULT_VIDEOS, seed: int = 0, password: str | None = None,
                 max_height: int = 720, max_duration: float = 8.0, n_cascades: int | None = None,
                 workers: int = 2, keep_videos: bool = False) -> pd.DataFrame:
    """Write an FVC-format corpus into ``out_dir``; return the ground-truth manifest.

    ``keep_videos`` also leaves the plain video files in ``out_dir/videos``
    (the manifest then has a ``path`` column), for tests that skip the archives.
    """
    return build(out_dir, n_videos, seed, password, max_height, max_duration, n_cascades, workers,
                 keep_videos).manifest


def build(out_dir: str | Path, n_videos: int = DEFAULT_VIDEOS, seed: int = 0, password: str | None = None,
          max_height: int = 720, max_duration: float = 8.0, n_cascades: int | None = None, workers: int = 2,
          keep_videos: bool = False) -> BuildResult:
    """Like :func:`build_corpus`, also reporting the password used and the build time."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    if n_videos < 4:
        raise InputError("--videos", f"{n_videos} is too small (need at least 4: 2 fake and 2 real cascades)")
    jobs = plan_corpus(int(n_videos), int(seed), SizeOptions(int(max_height), float(max_duration)), n_cascades)
    _check_out_dir(out_dir)
    password = resolve_password(password)
    work = out_dir / ".synth-build"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    runner = _Runner(min(int(workers), len(jobs)))
    try:
        originals = sorted((j for j in jobs if j.parent is None), key=_cost, reverse=True)
        dups = sorted((j for j in jobs if j.parent is not None), key=_cost, reverse=True)
        probes = dict(runner.run(_make_one, [(j, str(work), seed) for j in originals], "synth originals"))
        probes.update(runner.run(_make_one, [(j, str(work), seed) for j in dups], "synth near-duplicates"))
        manifest = ground_truth(jobs, probes)
        fvc = manifest[manifest.source == "FVC"]
        dup = manifest[manifest.source == "FVC_dup"]
        cols = ["cascade_id", "video_url", "label_raw"]
        write_plain(out_dir / "Metadata.zip", {
            "FVC.csv": fvc[cols].rename(columns={"label_raw": "label"}).to_csv(index=False).encode(),
            "FVC_dup.csv": dup[cols].rename(columns={"label_raw": "label"}).to_csv(index=False).encode(),
        })
        atomic_write_text(out_dir / "ground_truth.csv", manifest.to_csv(index=False))
        tasks = [(str(out_dir / a), [str(work / f) for f in manifest.file_name[manifest.archive == a]], password,
                  ARCHIVE_METHODS[a]) for a in ARCHIVES]
        runner.run(_archive_one, [t for t in tasks if t[1]], "synth archives")
        if keep_videos:
            videos = out_dir / "videos"
            shutil.rmtree(videos, ignore_errors=True)
            work.rename(videos)
            manifest = manifest.assign(path=[str(videos / f) for f in manifest.file_name])
    finally:
        runner.close()
        shutil.rmtree(work, ignore_errors=True)
    return BuildResult(out_dir, manifest, password, time.perf_counter() - t0)


def _cascade_order(cid: str) -> tuple[int, int]:
    return (0 if cid[0] == "f" else 1, int(cid[1:]))


def ground_truth(jobs: list[VideoJob], probes: dict[str, dict]) -> pd.DataFrame:
    """One row per file: metadata, recipe and what the file really contains."""
    rows = []
    for j in jobs:
        p = probes[j.file_name]
        fps = float(j.encode.fps)
        rows.append({
            "file_name": j.file_name, "cascade_id": j.cascade_id, "label_raw": j.label_raw, "role": j.role,
            "source": j.source, "manipulation": j.manipulation, "variant": j.extra.get("variant", "none"),
            "near_dup_transform": j.transform, "parent": j.parent or "", "container": j.encode.container,
            "codec": p["codec"], "width": p["width"], "height": p["height"], "fps": round(fps, 3),
            "frames": p["frames"], "duration": round(p["frames"] / fps, 3), "has_audio": p["audio_codec"] is not None,
            "audio_codec": j.encode.audio_codec_name or "", "bit_rate": j.encode.bit_rate, "gop": j.encode.gop,
            "archive": j.archive, "scene": j.scene.image if j.scene else "", "video_url": j.video_url,
            "platform": j.platform, "platform_id": j.platform_id,
        })
    df = pd.DataFrame(rows, columns=GROUND_TRUTH_COLUMNS)
    order = sorted(range(len(df)), key=lambda i: (_cascade_order(df.cascade_id[i]), df.source[i] != "FVC", i))
    return df.iloc[order].reset_index(drop=True)
