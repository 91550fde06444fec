"""The video index: probe every file with PyAV, demuxing packets but never decoding.

Demuxing gives exact frame counts for containers that do not store them
(webm, mkv), keyframe intervals and the real video bitrate, at the cost of
reading the file once (which the sha256 needs anyway).
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import numpy as np
import pandas as pd

from ..errors import FvcError, VideoError
from ..stages import Stage, StageSummary
from ..video.io import FrameLimits, open_video

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


def _rotation(path: Path) -> int:
    """Display rotation in degrees (0, 90, 180, 270), read from the first decoded frame.

    FFmpeg exposes the display matrix on frames, not on streams, so this is
    the one frame the probe decodes.
    """
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                return int(round(getattr(frame, "rotation", 0) or 0)) % 360
    except av.FFmpegError:
        return 0
    return 0


def probe_video(path: str | Path, limits: FrameLimits | None = None) -> dict[str, Any]:
    """Probe one video file; raises VideoError if it cannot be read or its frames are over ``limits``."""
    path = Path(path)
    out: dict[str, Any] = {}
    with open_video(path, limits) as container:
        vs = container.streams.video[0]
        cc = vs.codec_context
        out["container"] = container.format.name
        out["codec"] = cc.name
        out["profile"] = cc.profile or None
        out["pix_fmt"] = cc.pix_fmt
        out["width"] = int(cc.width or 0)
        out["height"] = int(cc.height or 0)
        out["rotation"] = 0  # filled after the demux pass
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        out["fps"] = float(rate) if rate else float("nan")
        audio = container.streams.audio
        out["has_audio"] = bool(audio)
        out["audio_codec"] = audio[0].codec_context.name if audio else None
        out["has_b_frames"] = bool(getattr(cc, "has_b_frames", False))
        out["bit_rate"] = int(container.bit_rate or 0) or None

        tb = vs.time_base
        n = 0
        nbytes = 0
        key_positions: list[int] = []
        pts_min, pts_max = None, None
        reordered = False
        last_pts = None
        try:
            for packet in container.demux(vs):
                if packet.size == 0:
                    continue
                if packet.is_keyframe:
                    key_positions.append(n)
                if packet.pts is not None:
                    if last_pts is not None and packet.pts < last_pts:
                        reordered = True
                    last_pts = packet.pts
                    pts_min = packet.pts if pts_min is None else min(pts_min, packet.pts)
                    pts_max = packet.pts if pts_max is None else max(pts_max, packet.pts)
                n += 1
                nbytes += packet.size
        except av.FFmpegError as exc:
            raise VideoError(path, f"truncated or corrupt stream after {n} packets ({exc})") from exc
        if n == 0:
            raise VideoError(path, "video stream has no frames")
        out["frame_count"] = n
        duration = None
        if vs.duration and tb:
            duration = float(vs.duration * tb)
        elif container.duration:
            duration = container.duration / 1_000_000
        elif pts_min is not None and tb and out["fps"] > 0:
            duration = float((pts_max - pts_min) * tb) + 1.0 / out["fps"]
        if not duration and out["fps"] > 0:
            duration = n / out["fps"]
        out["duration"] = duration
        out["video_bit_rate"] = int(nbytes * 8 / duration) if duration else None
        out["keyframe_count"] = len(key_positions)
        out["keyframe_interval"] = float(np.mean(np.diff(key_positions))) if len(key_positions) > 1 else float(n)
        out["has_b_frames"] = out["has_b_frames"] or reordered
    out["rotation"] = _rotation(path)
    out["file_size"] = path.stat().st_size
    out["sha256"] = sha256_file(path)
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
