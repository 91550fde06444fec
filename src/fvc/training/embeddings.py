"""Deep embeddings per video: a backbone's pooled clip features, then mean and std over a video's clips.

Training (per-fold backbones in the experiment), the ``fvc embed`` stage and
prediction all go through these two functions, so a video's embedding is
computed the same way wherever it is used.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from .trainer import model_inputs

PREFIX = "emb_"


def embedding_columns(dim: int) -> list[str]:
    """``emb_mean_<i>`` then ``emb_std_<i>`` for a ``dim``-wide clip feature."""
    return [f"{PREFIX}mean_{i}" for i in range(dim)] + [f"{PREFIX}std_{i}" for i in range(dim)]


def is_embedding_column(name: str) -> bool:
    return name.startswith(PREFIX)


@torch.no_grad()
def clip_embeddings(model: torch.nn.Module, batches: Iterable[dict[str, torch.Tensor]],
                    device: str | torch.device = "cpu") -> tuple[np.ndarray, np.ndarray | None]:
    """(clip features (N, D) float64, cache rows or None) over batches of model inputs, in order."""
    model.eval()
    device = torch.device(device)
    feats, rows = [], []
    for batch in batches:
        feats.append(model.embed(**model_inputs(batch, device)).float().cpu())
        if "row" in batch:
            rows.append(batch["row"])
    if not feats:
        return np.zeros((0, 0)), None
    return torch.cat(feats).numpy().astype(np.float64), (torch.cat(rows).numpy() if rows else None)


def pool_videos(features: np.ndarray, video_ids: Sequence[str]) -> pd.DataFrame:
    """One row per video (index ``video_id``, first-seen order): mean and std (ddof 0) over its clips."""
    ids = pd.Index([str(v) for v in video_ids], name="video_id")
    frame = pd.DataFrame(features, index=ids)
    grouped = frame.groupby(level=0, sort=False)
    out = pd.concat([grouped.mean(), grouped.std(ddof=0)], axis=1)
    out.columns = embedding_columns(features.shape[1])
    return out
