"""``fvc embed``: deep embeddings per video from a frozen backbone, as a resumable stage.

A backbone with pretrained weights (or a trained ``model.pt`` given as
``checkpoint``) does not depend on the folds, so its embeddings are computed
once per video: the backbone's pooled clip features, mean and std over the
video's clips (:mod:`fvc.training.embeddings`). The table
``embeddings_<backbone>`` is keyed by ``video_id`` and records the backbone
id, the weights or checkpoint (name and sha256) and the clip spec; it is a
declared per-video stage whose version is the backbone's identity (weights
hash, clip, normalisation), so a re-run skips every video whose row key is
unchanged and redoes the rest.

A backbone without weights is trained per outer fold instead, inside the
experiment (:mod:`fvc.experiment.embedding_adapter`): there is nothing
fold-independent to embed with, and this stage says so.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .config import FvcConfig, stable_hash
from .errors import InputError
from .models import ModelEntry, Weights, get_model
from .models.catalog import DataConfig
from .models.saved import load_model
from .stages import Stage, StageSummary, clear_stage, run_stage
from .training.clips import content_box, decode_clips
from .workspace import Workspace

EMBED_VERSION = 1
NO_WEIGHTS = (None, False, "none", "")


def table_name(backbone_id: str) -> str:
    return f"embeddings_{backbone_id}".replace("-", "_")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class FrozenBackbone:
    """A backbone ready to embed: the network (eval mode), its data config and what identifies its weights."""

    entry: ModelEntry
    model: Any
    data: DataConfig
    weights: str
    weights_sha256: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def key(self) -> dict[str, Any]:
        return {"backbone": self.entry.id, "weights_sha256": self.weights_sha256, "clip": asdict(self.data.clip),
                "mean": list(self.data.mean), "std": list(self.data.std), "model": self.model_kwargs,
                "version": EMBED_VERSION}


def frozen_backbone(backbone: str, preset: str | None = None, params: dict[str, Any] | None = None,
                    checkpoint: str | Path | None = None) -> FrozenBackbone:
    """The catalog backbone with its pretrained weights at ``preset``, or a trained fvc ``model.pt``."""
    entry = get_model(backbone)
    if entry.family != "deep":
        raise InputError("--backbone", f"model {entry.id} is not a deep model (family {entry.family})")
    if checkpoint is not None:
        model, card = load_model(checkpoint)
        if card.model_id != entry.id:
            raise InputError(checkpoint, f"holds model {card.model_id}, not the backbone {entry.id}")
        path = Path(checkpoint)
        path = path / "model.pt" if path.is_dir() else path
        return FrozenBackbone(entry, model, card.data_config, str(path), file_sha256(path), dict(card.model_kwargs))
    resolved = entry.preset(preset, params)
    weights = resolved["model"].get("weights")
    if weights in NO_WEIGHTS:
        raise InputError("--backbone", f"{entry.id} at preset '{preset or entry.default_preset}' has no pretrained "
                         "weights: give --checkpoint results/<id>/model.pt, or train the 5f-5j model directly "
                         "(it trains the backbone inside each outer fold)")
    model = entry.build(resolved["model"])  # missing weights: the error names the file and folder
    source = _weights_file(entry.weights if weights in ("DEFAULT", True) else weights)
    kwargs = {**resolved["model"], "weights": None}
    return FrozenBackbone(entry, model.eval(), entry.data_config(resolved), str(source.name), file_sha256(source),
                          kwargs)


def _weights_file(weights: Weights | str) -> Path:
    from .models.deep.weights import hub_checkpoint_path  # imports torch: only when a backbone is used

    if isinstance(weights, Weights):
        return hub_checkpoint_path(weights.url, weights.file)
    return Path(weights)


def video_embedding(fb: FrozenBackbone, path: Path, box=None, device: str = "cpu") -> tuple[pd.Series, int]:
    """One video's embedding row (mean and std over its clips) and its clip count."""
    import torch  # heavy: only here, where a backbone runs (training.dataset and .embeddings import it too)

    from .training.dataset import clip_batch
    from .training.embeddings import clip_embeddings, pool_videos
    from .training.transforms import ClipTransform

    dc = fb.data
    clips, flow, (vh, vw) = decode_clips(path, dc.clip, box)
    varaspect = dc.clip.mode == "varaspect"
    batch = ClipTransform(dc.mean, dc.std, varaspect)(clip_batch(clips, flow, vh, vw, varaspect), torch.device(device))
    feats, _ = clip_embeddings(fb.model, [batch], device)
    return pool_videos(feats, ["v"] * len(feats)).iloc[0], len(feats)


def embed_stage(fb: FrozenBackbone) -> Stage:
    """The declared node of one backbone's embeddings: its identity (weights hash, clip, statistics) is the
    version, so a row is redone exactly when the backbone or the scaled video it came from changed."""
    return Stage(f"embed-{fb.entry.id}", output=table_name(fb.entry.id), inputs=("scaled",),
                 version=f"{EMBED_VERSION}.{stable_hash(fb.key())}", per_video=True)


def embed_videos(ws: Workspace, backbone: str, preset: str | None = None, params: dict[str, Any] | None = None,
                 checkpoint: str | Path | None = None, force: bool = False, retry_failed: bool = True,
                 fb: FrozenBackbone | None = None) -> tuple[pd.DataFrame, StageSummary, FrozenBackbone]:
    """Embed every readable video of the backbone's source table into ``embeddings_<backbone>``."""
    fb = fb or frozen_backbone(backbone, preset, params, checkpoint)
    source = fb.data.source or "scaled"
    if not ws.has(source):
        raise InputError(ws.table(source), f"table '{source}' not found; run 'fvc scale' first")
    table = ws.read(source)
    if "error" in table.columns:
        table = table[table["error"].isna()]
    stage = embed_stage(fb)
    if force:
        clear_stage(ws, stage.output)
    clip_json = json.dumps(asdict(fb.data.clip), sort_keys=True)

    def one(row: dict[str, Any]) -> dict[str, Any]:
        path = Path(row["path"])
        path = path if path.is_absolute() else ws.root / path
        box = None
        if fb.data.clip.mode == "varaspect" and pd.notna(row.get("orig_width")):
            box = content_box(int(row["width"]), int(row["height"]), row["orig_width"], row["orig_height"])
        emb, n = video_embedding(fb, path, box)
        return {"source_video_id": str(row.get("source_video_id") or row["video_id"]), "backbone": fb.entry.id,
                "weights": fb.weights, "weights_sha256": fb.weights_sha256, "clip": clip_json, "n_clips": n,
                **emb.to_dict()}

    # one process: the backbone is loaded once and runs its own intra-op threads
    out, summary = run_stage(ws, stage, FvcConfig(), table.to_dict("records"), one, retry_failed=retry_failed,
                             description=f"embed {fb.entry.id}")
    return out, summary, fb
