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

from .native import compiled

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
    """NAMES statistics of one frame's forward vectors (at least one)."""
    if mv.size == 0:
        raise ValueError("a frame needs at least one motion vector")
    # the fields as FFmpeg's AVMotionVector types them (no copy when they are)
    return _frame_stats(*(np.asarray(mv[name], dtype) for name, dtype in _FIELDS), width, height)


_FIELDS = (("motion_x", np.int32), ("motion_y", np.int32), ("motion_scale", np.uint16), ("w", np.uint8),
           ("h", np.uint8), ("dst_x", np.int16), ("dst_y", np.int16))


@compiled("float64[::1](int32[:], int32[:], uint16[:], uint8[:], uint8[:], int16[:], int16[:], int64, int64)")
def _frame_stats(mx, my, scale, bw, bh, dst_x, dst_y, width, height):
    """NAMES of one frame's vectors (the fields of its side data, in one pass each)."""
    n = mx.size
    vx, vy, area = np.empty(n), np.empty(n), np.empty(n)
    total = 0.0
    weighted = 0.0
    for i in range(n):
        s = max(1.0, np.float64(scale[i]))
        vx[i], vy[i] = mx[i] / s, my[i] / s
        area[i] = np.float64(bw[i]) * bh[i]
        total += area[i]
        weighted += np.hypot(vx[i], vy[i]) * area[i]  # area-weighted magnitude
    mean_mag = weighted / total
    cx, cy = np.median(vx), np.median(vy)  # the dominant (camera) motion
    dev = np.empty(n)
    for i in range(n):
        dev[i] = np.hypot(vx[i] - cx, vy[i] - cy)
    dispersion = np.median(dev)
    far = max(2.0, 3.0 * dispersion)
    outlying = 0.0
    for i in range(n):
        if dev[i] > far:
            outlying += area[i]
    # roughness: mean length of the vector difference between 4-neighbouring grid cells that both hold a vector
    # (the last vector written into a cell wins)
    gh, gw = max(1, height // GRID + 1), max(1, width // GRID + 1)
    gx, gy = np.full((gh, gw), np.nan), np.full((gh, gw), np.nan)
    for i in range(n):
        r, c = min(max(dst_y[i] // GRID, 0), gh - 1), min(max(dst_x[i] // GRID, 0), gw - 1)
        gx[r, c], gy[r, c] = vx[i], vy[i]
    step_sum = 0.0
    steps = 0
    for r in range(gh):
        for c in range(gw):
            if np.isnan(gx[r, c]):
                continue
            if c + 1 < gw and not np.isnan(gx[r, c + 1]):
                step_sum += np.hypot(gx[r, c + 1] - gx[r, c], gy[r, c + 1] - gy[r, c])
                steps += 1
            if r + 1 < gh and not np.isnan(gx[r + 1, c]):
                step_sum += np.hypot(gx[r + 1, c] - gx[r, c], gy[r + 1, c] - gy[r, c])
                steps += 1
    out = np.empty(5)
    out[0], out[1], out[2] = mean_mag, dispersion, outlying / total
    out[3] = step_sum / steps / (mean_mag + 1.0) if steps else np.nan
    out[4] = min(1.0, total / max(1.0, np.float64(width * height)))
    return out
