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
    return frames_motion([mv], width, height)[0]


def frames_motion(mvs: list[np.ndarray], width: int, height: int) -> np.ndarray:
    """NAMES statistics of each frame's forward vectors (frames of one size), one row per frame.

    All frames at once: a few dozen array operations per batch instead of per frame, each frame's
    values independent of the others in the batch (per-frame segments, medians by a sort per segment).
    """
    sizes = np.array([m.size for m in mvs])
    if not len(mvs) or (sizes == 0).any():
        raise ValueError("every frame needs at least one motion vector")
    mv = np.concatenate(mvs)
    seg = np.repeat(np.arange(len(mvs)), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    scale = np.maximum(mv["motion_scale"], 1).astype(np.float32)
    vx = mv["motion_x"] / scale
    vy = mv["motion_y"] / scale
    area = mv["w"].astype(np.float32) * mv["h"]
    total = np.add.reduceat(area, starts).astype(np.float64)  # whole pixel counts: exact in float32
    mean_mag = np.add.reduceat(np.hypot(vx, vy) * area, starts) / total  # area-weighted
    dev = np.hypot(vx - _segment_median(vx, seg, starts, sizes)[seg], vy - _segment_median(vy, seg, starts, sizes)[seg])
    dispersion = _segment_median(dev, seg, starts, sizes)
    outlier = np.bincount(seg, weights=np.where(dev > np.maximum(2.0, 3.0 * dispersion)[seg], area, 0.0),
                          minlength=len(mvs)) / total
    gh, gw = max(1, height // GRID + 1), max(1, width // GRID + 1)
    cell = np.clip(mv["dst_y"] // GRID, 0, gh - 1) * gw + np.clip(mv["dst_x"] // GRID, 0, gw - 1) + seg * (gh * gw)
    gx = np.full(len(mvs) * gh * gw, np.nan, np.float32)
    gy = np.full(len(mvs) * gh * gw, np.nan, np.float32)
    gx[cell], gy[cell] = vx, vy  # the last vector written into a cell wins, as one assignment of pairs did
    gx, gy = gx.reshape(-1, gh, gw), gy.reshape(-1, gh, gw)
    # roughness: mean length of the vector difference between 4-neighbouring cells that both hold a vector
    steps = np.concatenate([np.hypot(gx[:, :, 1:] - gx[:, :, :-1], gy[:, :, 1:] - gy[:, :, :-1]).reshape(len(mvs), -1),
                            np.hypot(gx[:, 1:] - gx[:, :-1], gy[:, 1:] - gy[:, :-1]).reshape(len(mvs), -1)], axis=1)
    held = ~np.isnan(steps)
    n_steps = held.sum(axis=1)
    step_sum = np.where(held, steps, 0.0).sum(axis=1, dtype=np.float64)
    rough = np.divide(step_sum / np.maximum(n_steps, 1), mean_mag + 1.0, out=np.full(len(mvs), np.nan),
                      where=n_steps > 0)
    coverage = np.minimum(1.0, total / max(1.0, float(width * height)))
    return np.column_stack([mean_mag, dispersion, outlier, rough, coverage])


def _segment_median(v: np.ndarray, seg: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Median of ``v`` within each segment (``np.median``'s definition: the mean of the two middle values
    of an even count), from one row-wise sort of the segments padded to a common length with +inf."""
    rows = np.full((len(sizes), int(sizes.max())), np.inf)
    rows[seg, np.arange(v.size) - starts[seg]] = v
    rows.sort(axis=1)
    k = np.arange(len(sizes))
    return (rows[k, (sizes - 1) // 2] + rows[k, sizes // 2]) / 2.0
