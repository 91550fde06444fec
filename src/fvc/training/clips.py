"""Clip cache: decode each video once into uint8 memory-mapped clip arrays.

Deep models read many epochs over the same clips; decoding video every epoch
would dominate training time on CPU. The cache holds ``K`` clips of ``T``
uniformly sampled frames per video at the model's input size, in one
``np.memmap`` per config hash under ``<workspace>/cache/clips/<hash>/``.
Optical flow (for two-stream models) is computed at build time from each
sampled frame and its successor, quantised to uint8, and cached beside.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..config import stable_hash
from ..errors import FvcError, InputError
from ..progress import progress_iter
from ..video.io import iter_frames, open_video
from ..workspace import Workspace, atomic_write_text

FLOW_BOUND = 20.0  # pixels; flow is clipped to +-bound before uint8 quantisation
MODES = ("letterbox", "varaspect")


@dataclass(frozen=True)
class ClipSpec:
    """What one cached clip looks like; its hash names the cache."""

    frames: int = 16
    size: int = 112
    clips_per_video: int = 1
    mode: str = "letterbox"  # letterbox: fit + pad to size^2; varaspect: content only, top-left, extent kept
    flow: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.frames <= 64:
            raise InputError("clip spec", f"frames must be in 1..64, got {self.frames}")
        if self.size < 8:
            raise InputError("clip spec", f"size must be >= 8, got {self.size}")
        if self.clips_per_video < 1:
            raise InputError("clip spec", "clips_per_video must be >= 1")
        if self.mode not in MODES:
            raise InputError("clip spec", f"mode must be one of {MODES}, got '{self.mode}'")


def clip_indices(n_frames: int, frames: int, clips: int) -> list[list[int]]:
    """``clips`` lists of ``frames`` uniformly spaced indices, one per equal segment.

    Short videos repeat frames rather than fail: every video yields a clip.
    """
    n = max(int(n_frames), 1)
    out = []
    for k in range(clips):
        lo, hi = k * n / clips, (k + 1) * n / clips
        pos = np.linspace(lo, max(hi - 1, lo), frames)
        out.append([int(min(n - 1, round(p))) for p in pos])
    return out


def count_frames(path: str | Path) -> int:
    """Frame count from the container header, else by counting packets (no decode)."""
    with open_video(path) as container:
        stream = container.streams.video[0]
        if stream.frames and stream.frames > 0:
            return int(stream.frames)
        return sum(1 for p in container.demux(stream) if p.size)


def content_box(width: int, height: int, orig_w: float | None, orig_h: float | None) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the picture inside a letterboxed frame, from the original size."""
    if not orig_w or not orig_h or pd.isna(orig_w) or pd.isna(orig_h):
        return 0, 0, width, height
    scale = min(width / orig_w, height / orig_h)
    w = max(1, min(width, int(round(orig_w * scale))))
    h = max(1, min(height, int(round(orig_h * scale))))
    return (width - w) // 2, (height - h) // 2, w, h


def fit_frame(frame: np.ndarray, size: int, mode: str, box: tuple[int, int, int, int]) -> tuple[np.ndarray, int, int]:
    """Resize a frame into a ``size`` x ``size`` canvas; return it and the valid (h, w).

    letterbox keeps the aspect ratio and centres; varaspect crops to the
    content box and puts it top-left so models can mask the padding.
    """
    if mode == "varaspect":
        x, y, w, h = box
        frame = frame[y : y + h, x : x + w]
    h, w = frame.shape[:2]
    scale = size / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(frame, (nw, nh), interpolation=interp)
    canvas = np.zeros((size, size, 3), np.uint8)
    if mode == "varaspect":
        canvas[:nh, :nw] = small
    else:
        oy, ox = (size - nh) // 2, (size - nw) // 2
        canvas[oy : oy + nh, ox : ox + nw] = small
    return canvas, nh, nw


def farneback_uint8(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense Farneback flow between two RGB frames, as HxWx2 uint8 (127.5 = no motion)."""
    ga = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    gb = cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
    flow = cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    q = (np.clip(flow, -FLOW_BOUND, FLOW_BOUND) + FLOW_BOUND) * (255.0 / (2 * FLOW_BOUND))
    return np.round(q).astype(np.uint8)


def flow_to_float(q: np.ndarray) -> np.ndarray:
    """Inverse of the uint8 quantisation, in pixels."""
    return q.astype(np.float32) * (2 * FLOW_BOUND / 255.0) - FLOW_BOUND


def decode_clips(path: str | Path, spec: ClipSpec, box: tuple[int, int, int, int] | None = None):
    """Decode one video once; return clips (K,T,S,S,3), flow (K,T,S,S,2) or None, extent (h, w)."""
    n = count_frames(path)
    groups = clip_indices(n, spec.frames, spec.clips_per_video)
    wanted = sorted({i for g in groups for i in g})
    need = set(wanted) | ({i + 1 for i in wanted} if spec.flow else set())
    got: dict[int, np.ndarray] = {}
    extent = (spec.size, spec.size)
    for idx, rgb in iter_frames(path, need):
        if box is None:
            box = (0, 0, rgb.shape[1], rgb.shape[0])
        got[idx], h, w = fit_frame(rgb, spec.size, spec.mode, box)
        extent = (h, w)
    if not got:
        raise InputError(path, "no frame could be decoded")
    have = sorted(got)

    def frame_at(i: int) -> np.ndarray:
        # Headers can overstate the frame count: use the nearest earlier decoded frame.
        j = np.searchsorted(have, i, side="right") - 1
        return got[have[max(j, 0)]]

    clips = np.stack([np.stack([frame_at(i) for i in g]) for g in groups])
    flow = None
    if spec.flow:
        flow = np.stack(
            [np.stack([farneback_uint8(frame_at(i), frame_at(i + 1)) for i in g]) for g in groups]
        )
    return clips, flow, extent


class ClipCache:
    """A built cache: ``clips`` (N,T,S,S,3) uint8 memmap (copy-on-write: never written back), optional ``flow``, and ``index`` rows."""

    def __init__(self, root: Path):
        self.root = Path(root)
        meta_path = self.root / "meta.json"
        if not meta_path.exists():
            raise FvcError(f"{self.root}: clip cache is not built (meta.json missing)")
        self.meta = json.loads(meta_path.read_text())
        self.spec = ClipSpec(**self.meta["spec"])
        self.index = pd.read_parquet(self.root / "index.parquet")
        n, s, t = len(self.index), self.spec.size, self.spec.frames
        self.clips = np.memmap(self.root / "clips.u8", np.uint8, "c", shape=(max(n, 1), t, s, s, 3))
        self.flow = (
            np.memmap(self.root / "flow.u8", np.uint8, "c", shape=(max(n, 1), t, s, s, 2)) if self.spec.flow else None
        )

    def __len__(self) -> int:
        return len(self.index)

    def __getstate__(self):  # DataLoader workers re-open the memmaps instead of pickling arrays
        return {"root": self.root}

    def __setstate__(self, state) -> None:
        self.__init__(state["root"])


def _path(ws: Workspace | None, p: str) -> Path:
    path = Path(p)
    if not path.is_absolute() and ws is not None:
        path = ws.root / path
    return path


def cache_key(table: pd.DataFrame, spec: ClipSpec, ws: Workspace | None = None) -> str:
    """Hash of the clip spec and of every input file (path, size, mtime)."""
    files = []
    for vid, p in zip(table["video_id"].astype(str), table["path"].astype(str)):
        path = _path(ws, p)
        st = path.stat() if path.exists() else None
        files.append([vid, str(path), st.st_size if st else -1, st.st_mtime_ns if st else -1])
    return stable_hash({"spec": asdict(spec), "files": files, "version": 1}, length=16)


META_COLS = ("source_video_id", "label", "fold", "group_id", "cascade_id")


def build_clip_cache(
    table: pd.DataFrame,
    spec: ClipSpec,
    cache_root: Path,
    ws: Workspace | None = None,
    workers: int = 2,
) -> ClipCache:
    """Build (or reuse) the cache for ``table`` rows (video_id, path, label, fold, ...).

    Each video is decoded once (``workers`` threads: PyAV and OpenCV release the GIL)
    and written straight into the memmap, in table order. A video
    that fails becomes an index row with ``error`` set and no clips; the rest
    continue. The cache appears atomically (built in a temp dir, then renamed).
    """
    for col in ("video_id", "path"):
        if col not in table.columns:
            raise InputError("clip table", f"missing column '{col}'")
    if "error" in table.columns:
        table = table[table["error"].isna()]
    table = table.reset_index(drop=True)
    key = cache_key(table, spec, ws)
    final = Path(cache_root) / key
    if (final / "meta.json").exists():
        return ClipCache(final)
    tmp = Path(cache_root) / f".{key}.building"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    k, t, s = spec.clips_per_video, spec.frames, spec.size
    cap = max(len(table) * k, 1)
    clips = np.memmap(tmp / "clips.u8", np.uint8, "w+", shape=(cap, t, s, s, 3))
    flow = np.memmap(tmp / "flow.u8", np.uint8, "w+", shape=(cap, t, s, s, 2)) if spec.flow else None
    rows: list[dict] = []
    failed: list[dict] = []
    n = 0

    def decode_one(rec: dict):
        path = _path(ws, str(rec["path"]))
        box = None
        if {"width", "height", "orig_width", "orig_height"} <= rec.keys() and spec.mode == "varaspect":
            box = content_box(int(rec["width"]), int(rec["height"]), rec["orig_width"], rec["orig_height"])
        try:
            return rec, decode_clips(path, spec, box), None
        except FvcError as exc:
            return rec, None, str(exc)

    records = table.to_dict("records")
    results = _ordered_map(decode_one, records, workers)
    for rec, out, err in progress_iter(results, f"clip cache {key[:8]}", total=len(records)):
        if err is not None:
            failed.append({"video_id": str(rec["video_id"]), "error": err})
            continue
        c, f, (eh, ew) = out
        clips[n : n + k] = c
        if flow is not None:
            flow[n : n + k] = f
        for j in range(k):
            row = {"row": n + j, "video_id": str(rec["video_id"]), "clip": j, "valid_h": eh, "valid_w": ew}
            for col in META_COLS:
                if col in rec:
                    row[col] = rec[col]
            rows.append(row)
        n += k
    clips.flush()
    del clips
    if flow is not None:
        flow.flush()
        del flow
    index = pd.DataFrame(rows, columns=None if rows else ["row", "video_id", "clip", "valid_h", "valid_w"])
    if "source_video_id" not in index.columns:
        index["source_video_id"] = index["video_id"]
    index.to_parquet(tmp / "index.parquet", index=False)
    pd.DataFrame(failed, columns=["video_id", "error"]).to_parquet(tmp / "failed.parquet", index=False)
    atomic_write_text(tmp / "meta.json", json.dumps({"spec": asdict(spec), "key": key, "rows": n}, indent=1))
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)
    return ClipCache(final)


def _ordered_map(fn, items: list, workers: int):
    """``map(fn, items)`` in order, on threads, with at most ``2 * workers`` results held at once."""
    if workers <= 1:
        yield from map(fn, items)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def failed_videos(cache: ClipCache) -> pd.DataFrame:
    """Videos that could not be decoded while building the cache."""
    path = cache.root / "failed.parquet"
    return pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=["video_id", "error"])


def clip_table(ws: Workspace, source: str = "scaled") -> pd.DataFrame:
    """The table deep models train on, joined with folds; a clear error when missing."""
    if not ws.has(source):
        hint = {"scaled": "fvc scale", "augmented": "fvc augment", "index": "fvc index"}.get(source, "its stage")
        raise InputError(ws.table(source), f"table '{source}' not found; run '{hint}' first")
    df = ws.read(source)
    # Folds and labels always come from splits (a stage table's copy may predate 'fvc splits').
    if ws.has("splits"):
        sp = ws.read("splits")[["video_id", "fold", "label", "group_id", "cascade_id"]]
        base = "source_video_id" if "source_video_id" in df.columns else "video_id"
        df = df.drop(columns=[c for c in sp.columns if c != "video_id" and c in df.columns])
        df = df.merge(sp.rename(columns={"video_id": base}), on=base, how="left")
    elif "fold" not in df.columns or "label" not in df.columns:
        raise InputError(ws.table("splits"), "splits not found; run 'fvc splits' first")
    if "source_video_id" not in df.columns:
        df["source_video_id"] = df["video_id"]
    return df
