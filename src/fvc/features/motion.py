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
    scale = np.maximum(mv["motion_scale"], 1).astype(np.float32)
    vx = mv["motion_x"] / scale
    vy = mv["motion_y"] / scale
    area = mv["w"].astype(np.float32) * mv["h"]
    total = float(area.sum())
    mag = np.hypot(vx, vy)
    mean_mag = float(np.dot(mag, area)) / total  # area-weighted
    dev = np.hypot(vx - np.median(vx), vy - np.median(vy))
    dispersion = float(np.median(dev))
    outlier = float(area[dev > max(2.0, 3.0 * dispersion)].sum()) / total
    gh, gw = max(1, height // GRID + 1), max(1, width // GRID + 1)
    cell = np.clip(mv["dst_y"] // GRID, 0, gh - 1) * gw + np.clip(mv["dst_x"] // GRID, 0, gw - 1)
    gx = np.full(gh * gw, np.nan, np.float32)
    gy = np.full(gh * gw, np.nan, np.float32)
    gx[cell], gy[cell] = vx, vy  # the last vector written into a cell wins, as one assignment of pairs did
    gx, gy = gx.reshape(gh, gw), gy.reshape(gh, gw)
    # roughness: mean length of the vector difference between 4-neighbouring cells that both hold a vector
    steps = np.concatenate([np.hypot(gx[:, 1:] - gx[:, :-1], gy[:, 1:] - gy[:, :-1]).ravel(),
                            np.hypot(gx[1:] - gx[:-1], gy[1:] - gy[:-1]).ravel()])
    steps = steps[~np.isnan(steps)]
    rough = float(steps.mean() / (mean_mag + 1.0)) if steps.size else np.nan
    coverage = float(min(1.0, total / max(1.0, float(width * height))))
    return np.array([mean_mag, dispersion, outlier, rough, coverage])
