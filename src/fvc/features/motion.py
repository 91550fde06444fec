"""Motion-vector cues: a spliced object moves unlike the camera, and the codec's vectors already say how.

The decoder exports its motion vectors as frame side data (H.264, MPEG-2/4;
other codecs give none, and ``mv_available`` says so); per frame, from the
forward vectors: mean magnitude, dispersion around the dominant (camera)
motion, the area moving unlike it, the roughness of the vector field
between neighbouring macroblocks, and the area the vectors cover (the rest
is intra-coded or skipped).
"""

from __future__ import annotations

import av
import numpy as np
from av.sidedata.sidedata import SideDataContainer

NAMES = ("mv_mag", "mv_dispersion", "mv_outlier_area", "mv_roughness", "mv_coverage")
VIDEO_NAMES = ("mv_available",)
CODECS = ("h264", "mpeg4", "mpeg2video", "mpeg1video", "h263")
GRID = 16


def frame_vectors(frame: av.VideoFrame) -> np.ndarray | None:
    """The frame's forward motion vectors (structured array), or None when it has none."""
    # frame.side_data caches the container on the frame, a reference cycle that keeps every decoded
    # frame (megabytes) alive until a full garbage collection; a container of our own is freed at once.
    side = SideDataContainer(frame).get("MOTION_VECTORS")
    if side is None:
        return None
    mv = side.to_ndarray()
    mv = mv[mv["source"] < 0]  # a copy: nothing refers to the frame's buffer afterwards
    return mv if mv.size else None


def frame_motion(mv: np.ndarray, width: int, height: int) -> np.ndarray:
    """NAMES statistics of one frame's forward vectors."""
    scale = np.maximum(mv["motion_scale"].astype(np.float32), 1.0)
    v = np.stack([mv["motion_x"] / scale, mv["motion_y"] / scale], 1)
    area = mv["w"].astype(np.float32) * mv["h"].astype(np.float32)
    share = area / area.sum()
    mag = np.hypot(v[:, 0], v[:, 1])
    dev = np.hypot(*(v - np.median(v, axis=0)).T)
    dispersion = float(np.median(dev))
    outlier = float(share[dev > max(2.0, 3.0 * dispersion)].sum())
    gh, gw = max(1, height // GRID + 1), max(1, width // GRID + 1)
    grid = np.full((gh, gw, 2), np.nan, np.float32)
    gy = np.clip(mv["dst_y"] // GRID, 0, gh - 1)
    gx = np.clip(mv["dst_x"] // GRID, 0, gw - 1)
    grid[gy, gx] = v
    dx = np.hypot(*np.moveaxis(grid[:, 1:] - grid[:, :-1], -1, 0))
    dy = np.hypot(*np.moveaxis(grid[1:] - grid[:-1], -1, 0))
    both = np.concatenate([dx[np.isfinite(dx)], dy[np.isfinite(dy)]])
    rough = float(both.mean() / (float((mag * share).sum()) + 1.0)) if both.size else np.nan
    coverage = float(min(1.0, area.sum() / max(1.0, float(width * height))))
    return np.array([float((mag * share).sum()), dispersion, outlier, rough, coverage])
