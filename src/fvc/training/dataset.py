"""Torch dataset over a clip cache, with light, seeded train-time augmentation.

Items are dicts so models with extra inputs (flow, valid extent) share one
trainer: ``clip`` (3,T,H,W float, normalised), ``label`` (float), ``row`` and,
when the cache has them, ``flow`` (2,T,H,W) and ``valid`` (h, w).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from .clips import FLOW_BOUND, ClipCache

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)


@dataclass(frozen=True)
class ClipAug:
    """Augmentations cheap enough to run per item on CPU."""

    hflip: float = 0.5
    brightness: float = 0.1
    contrast: float = 0.1


class ClipDataset(Dataset):
    """Clips at ``rows`` of a cache; labels come from the cache index."""

    def __init__(
        self,
        cache: ClipCache,
        rows: np.ndarray | list[int] | None = None,
        train: bool = False,
        aug: ClipAug | None = None,
        mean: tuple[float, float, float] = KINETICS_MEAN,
        std: tuple[float, float, float] = KINETICS_STD,
    ):
        self.cache = cache
        self.rows = np.arange(len(cache)) if rows is None else np.asarray(rows, dtype=np.int64)
        self.train = train
        self.aug = aug if aug is not None else ClipAug()
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1, 1)
        idx = cache.index.set_index("row")
        labels = idx["label"] if "label" in idx.columns else None
        self.labels = (
            np.asarray(labels.loc[self.rows].astype("float32").fillna(-1.0), dtype=np.float32)
            if labels is not None
            else np.full(len(self.rows), -1.0, np.float32)
        )
        self.valid = idx.loc[self.rows, ["valid_h", "valid_w"]].to_numpy(np.int64)
        self.varaspect = cache.spec.mode == "varaspect"

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        r = int(self.rows[i])
        flow = self.cache.flow[r] if self.cache.flow is not None else None
        vh, vw = (int(v) for v in self.valid[i])
        item = make_item(self.cache.clips[r], flow, vh, vw, self.varaspect, self.mean, self.std,
                         self.aug if self.train else None)
        item["label"] = torch.tensor(self.labels[i])
        item["row"] = torch.tensor(r)
        return item


def make_item(clip_u8: np.ndarray, flow_u8: np.ndarray | None, vh: int, vw: int, varaspect: bool,
              mean: torch.Tensor, std: torch.Tensor, aug: ClipAug | None = None) -> dict[str, torch.Tensor]:
    """uint8 (T,H,W,3) clip [+ (T,H,W,2) flow] -> model inputs; training and prediction share this.

    One conversion pass into a preallocated (3,T,H,W) float tensor, then in-place ops: the loader's
    cost per clip stays a few memory passes.
    """
    src = torch.from_numpy(np.ascontiguousarray(clip_u8))
    t, h, w, _ = src.shape
    clip = torch.empty((3, t, h, w), dtype=torch.float32)
    clip.copy_(src.permute(3, 0, 1, 2))
    flow = None
    if flow_u8 is not None:
        fsrc = torch.from_numpy(np.ascontiguousarray(flow_u8))
        flow = torch.empty((2, t, h, w), dtype=torch.float32)
        flow.copy_(fsrc.permute(3, 0, 1, 2))
        flow.mul_(2 * FLOW_BOUND / 255.0 / FLOW_BOUND).sub_(1.0)  # uint8 -> [-1, 1] (= pixels / bound)
    if aug is not None:
        clip.mul_(1 / 255.0)
        clip, flow = _augment(aug, clip, flow, vw if varaspect else w)
        clip.sub_(mean).div_(std)
    else:
        clip.sub_(mean * 255.0).mul_(1.0 / (std * 255.0))
    if varaspect:
        clip[:, :, vh:, :] = 0
        clip[:, :, :, vw:] = 0
    item = {"clip": clip}
    if flow is not None:
        item["flow"] = flow
    if varaspect:
        item["valid"] = torch.tensor([vh, vw])
    return item


def _augment(a: ClipAug, clip: torch.Tensor, flow: torch.Tensor | None, w: int):
    """Flip (within the valid width), brightness and contrast, in place; uses torch's seeded RNG."""
    if a.hflip and torch.rand(()) < a.hflip:
        clip[..., :w] = clip[..., :w].flip(-1)
        if flow is not None:
            flow[..., :w] = flow[..., :w].flip(-1)
            flow[0].neg_()  # horizontal motion changes sign
    b = float((torch.rand(()) * 2 - 1) * a.brightness) if a.brightness else 0.0
    c = float(1 + (torch.rand(()) * 2 - 1) * a.contrast) if a.contrast else 1.0
    if b or c != 1.0:
        # brightness then contrast around the (brightened) mean, fused: y = c*x + c*b + (1-c)*(mean(x)+b)
        m = float(clip.mean()) + b
        clip.mul_(c).add_(c * b + (1 - c) * m)
    return clip.clamp_(0, 1), flow


def collate_clips(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack items; for variable-aspect batches trim padding to the largest valid extent."""
    batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
    if "valid" in batch:
        h, w = (int(v) for v in batch["valid"].max(0).values)
        batch["clip"] = batch["clip"][..., :h, :w].contiguous()
    return batch
