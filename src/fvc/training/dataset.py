"""Torch dataset over a clip cache: uint8 clips, labels and rows, nothing float.

Items are dicts so models with extra inputs (flow, valid extent) share one
trainer: ``clip`` (T,H,W,3 uint8, a view of the cache), ``label`` (float),
``row`` (int) and, when the cache has them, ``flow`` (T,H,W,2 uint8) and
``valid`` (h, w). Normalisation and augmentation happen on the device, batched, in
:class:`~.transforms.ClipTransform`, which the dataset carries as ``transform``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from .clips import ClipCache
from .transforms import ClipAug, ClipTransform

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)

__all__ = ["ClipAug", "ClipDataset", "clip_batch", "clip_item", "collate_clips"]


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
        self.varaspect = cache.spec.mode == "varaspect"
        self.transform = ClipTransform(mean, std, self.varaspect, aug)
        idx = cache.index.set_index("row")
        labels = idx["label"] if "label" in idx.columns else None
        self.labels = (
            np.asarray(labels.loc[self.rows].astype("float32").fillna(-1.0), dtype=np.float32)
            if labels is not None
            else np.full(len(self.rows), -1.0, np.float32)
        )
        self.valid = idx.loc[self.rows, ["valid_h", "valid_w"]].to_numpy(np.int64)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> dict:
        r = int(self.rows[i])
        flow = self.cache.flow[r] if self.cache.flow is not None else None
        item = clip_item(self.cache.clips[r], flow, *(int(v) for v in self.valid[i]), self.varaspect)
        item["label"] = float(self.labels[i])  # plain numbers: collate makes one tensor per batch
        item["row"] = r
        return item


def clip_item(clip_u8: np.ndarray, flow_u8: np.ndarray | None, vh: int, vw: int, varaspect: bool) -> dict:
    """uint8 (T,H,W,3) clip [+ (T,H,W,2) flow] -> an item of uint8 tensors (no copy of the pixels)."""
    item = {"clip": torch.from_numpy(np.ascontiguousarray(clip_u8))}
    if flow_u8 is not None:
        item["flow"] = torch.from_numpy(np.ascontiguousarray(flow_u8))
    if varaspect:
        item["valid"] = (vh, vw)
    return item


def collate_clips(items: list[dict]) -> dict[str, torch.Tensor]:
    """Stack tensors (uint8 stays uint8: the float batch is made on the device); numbers become one tensor."""
    out = {}
    for k, first in items[0].items():
        vals = [it[k] for it in items]
        out[k] = torch.stack(vals) if isinstance(first, torch.Tensor) else torch.tensor(vals)
    return out


def clip_batch(clips: np.ndarray, flow: np.ndarray | None, vh: int, vw: int, varaspect: bool) -> dict[str, torch.Tensor]:
    """The uint8 batch of one video's decoded clips, as prediction and embedding feed it to a ClipTransform."""
    return collate_clips([clip_item(clips[k], None if flow is None else flow[k], vh, vw, varaspect)
                          for k in range(len(clips))])
