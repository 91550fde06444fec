"""The video index: probe every file with PyAV, demuxing packets but decoding one frame only.

Demuxing gives exact frame counts for containers that do not store them
(webm, mkv), keyframe intervals and the real video bitrate, at the cost of
reading the file once, and the sha256 is taken from that same read.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import pandas as pd

from ..errors import FvcError, VideoError
from ..stages import Stage, StageSummary
from ..video.io import FrameLimits, open_video
from .hashread import HashingReader
from ..video.packets import stream_facts, tally_packets

PROBE_COLUMNS = [
    "container", "codec", "profile", "pix_fmt", "width", "height", "rotation", "fps",
    "frame_count", "duration", "bit_rate", "video_bit_rate", "has_audio", "audio_codec",
    "keyframe_count", "keyframe_interval", "has_b_frames", "file_size", "sha256",
]


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _rotation(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> int:
    """Display rotation in degrees (0, 90, 180, 270), read from the first decoded frame.

    FFmpeg exposes the display matrix on frames, not on streams, so this is
    the one frame the probe decodes (the container rewound after the packet pass).
    """
    try:
        container.seek(0, stream=stream, backward=True)
        for frame in container.decode(stream):
            return int(round(getattr(frame, "rotation", 0) or 0)) % 360
    except av.FFmpegError:
        return 0
    return 0


def probe_video(path: str | Path, limits: FrameLimits | None = None) -> dict[str, Any]:
    """Probe one video file; raises VideoError if it cannot be read or its frames are over ``limits``.

    One read: the packet pass hashes the bytes as it goes (``HashingReader``),
    then the rewound container decodes one frame for the rotation.
    """
    path = Path(path)
    out: dict[str, Any] = {}
    if not path.is_file():
        raise VideoError(path, "file not found")
    with path.open("rb") as fh:
        reader = HashingReader(fh)
        with open_video(path, limits, fileobj=reader) as container:
            vs = container.streams.video[0]
            out.update(stream_facts(container, vs, tally_packets(container, vs, path)))
            out["rotation"] = _rotation(container, vs)
        out["file_size"] = path.stat().st_size
        out["sha256"] = reader.sha256()
    return out


def _probe_row(row: dict[str, Any], root: Path, limits: FrameLimits | None = None) -> dict[str, Any]:
    path = Path(row["path"])
    if not path.is_absolute():
        path = root / path
    result = dict(row)
    try:
        result.update(probe_video(path, limits))
        result["error"] = None
    except FvcError as exc:  # a bad file becomes its row's error; a bug in our code stops the index
        result["error"] = str(exc)
    except av.FFmpegError as exc:
        result["error"] = f"{path}: cannot read ({exc})"
    return result


def build_index(
    videos: pd.DataFrame, root: Path, workers: int = 2, limits: FrameLimits | None = None,
) -> pd.DataFrame:
    """Probe every row of the ``videos`` table (from setup); one output row per video.

    A video whose frames are over ``limits`` becomes an error row, so no stage decodes it.
    """
    rows = videos.to_dict("records")
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        results = list(pool.map(lambda r: _probe_row(r, root, limits), rows))
    finally:  # on Ctrl-C, drop the queued probes instead of finishing them all first
        pool.shutdown(wait=True, cancel_futures=True)
    df = pd.DataFrame(results)
    for col in PROBE_COLUMNS + ["error"]:
        if col not in df.columns:
            df[col] = None
    for col in ("width", "height", "rotation", "frame_count", "keyframe_count", "file_size"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    for col in ("bit_rate", "video_bit_rate"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    for col in ("fps", "duration", "keyframe_interval"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    if "label" in df.columns:
        df["label"] = df["label"].astype("Int64")
    return df


INDEX = Stage("index", output="index", inputs=("videos",), config=("video",), version="1")


def run_index(ws, cfg, workers: int = 2, plots: bool = True):
    """Probe the ``videos`` table from setup into ``index``; write exploration plots."""
    from .explore import write_exploration_plots

    videos = ws.read("videos")
    limits = FrameLimits(cfg.video.max_side, cfg.video.max_pixels)
    index = build_index(videos, ws.root, workers=workers, limits=limits)
    INDEX.write(ws, cfg, index)
    failed = int(index["error"].notna().sum())
    summary = StageSummary(stage="index", done=len(index) - failed, failed=failed, table=ws.table("index"))
    if plots and len(index):
        write_exploration_plots(index, ws.plots_dir)
    return index, summary
