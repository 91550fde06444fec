"""Tiny generated 'scaled' workspaces for the deep-model tests (letterboxed clips, two classes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fvc.video.encode import Encoder
from fvc.workspace import Workspace

SIZE = 48


def write_letterboxed(path: Path, fake: bool, seed: int, frames: int = 12, orig=(64, 36), size: int = SIZE) -> Path:
    """A letterboxed clip: fakes carry high-frequency noise, reals are smooth moving gradients."""
    rng = np.random.default_rng(seed)
    ow, oh = orig
    s = size / max(ow, oh)
    w, h = int(round(ow * s)), int(round(oh * s))
    y0, x0 = (size - h) // 2, (size - w) // 2
    yy, xx = np.mgrid[0:h, 0:w]
    with Encoder(path, fps=10, width=size, height=size) as wr:
        for i in range(frames):
            pic = np.stack([(xx * 4 + i * 3 + seed * 7) % 256, (yy * 5) % 256, np.full_like(xx, 90 + 10 * (seed % 5))], -1)
            pic = pic.astype(np.float32)
            if fake:
                pic += rng.normal(0, 45, size=pic.shape)
            frame = np.zeros((size, size, 3), np.uint8)
            frame[y0:y0 + h, x0:x0 + w] = np.clip(pic, 0, 255).astype(np.uint8)
            wr.write(frame)
    return path


def make_scaled_workspace(root: Path, per_class: int = 5, folds: int = 5, corrupt: bool = False) -> Workspace:
    """Workspace with a ``scaled`` table of ``2 * per_class`` videos, one cascade group each."""
    ws = Workspace(root).ensure()
    vdir = ws.stage_dir("scaled")
    vdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for label in (1, 0):
        for i in range(per_class):
            vid = f"{'f' if label else 'r'}{i}"
            orig = (64, 36) if i % 2 == 0 else (36, 64)  # landscape and portrait sources
            write_letterboxed(vdir / f"{vid}.mp4", bool(label), seed=i + 10 * label, orig=orig)
            rows.append({"video_id": vid, "source_video_id": vid, "path": f"stages/scaled/{vid}.mp4",
                         "width": SIZE, "height": SIZE, "orig_width": orig[0], "orig_height": orig[1],
                         "is_upscaled": False, "is_downscaled": True, "method": "letterbox",
                         "fold": i % folds, "cascade_id": vid, "group_id": vid, "label": label, "error": None})
    if corrupt:
        (vdir / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
        rows.append({**rows[0], "video_id": "bad", "source_video_id": "bad", "path": "stages/scaled/bad.mp4",
                     "cascade_id": "bad", "group_id": "bad"})
    df = pd.DataFrame(rows)
    df["label"] = df["label"].astype("Int64")
    ws.write("scaled", df)
    return ws


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny tensors: one torch thread avoids OpenMP contention on a shared 2-core machine (autouse where imported)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
