"""Per-video fake probability from a trained model: feature-based, deep, a tree model on deep embeddings, or the
mean of several of them (an ensemble's members are saved beside it with their own cards).

A new video goes through the steps its model was trained on, as its model
card (``model.json``) records them: stage-3 letterbox scaling at the card's
size and encoder settings (so codec traces match) and the card's clip and
normalisation for deep models and for the backbone of 5f-5j (whose saved
model holds the backbone and the tree model); stage-2 (and stage-4)
handcrafted features with the card's sampling for feature models. The
workspace's ``fvc.yaml`` plays no part. Each file is handled on its own: an unreadable file gives a
row with its error and the rest carry on.

``--model`` takes a model id (``results/<id>/``), a run folder or a model
file here; registry URIs (``models:/fvc-5d@champion``) are resolved to such
a file by ``fvc.tracking.model_registry.resolve_model_ref``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import av
import numpy as np
import pandas as pd

from .errors import FvcError, InputError
from .features.columns import feature_columns
from .features.extract import video_features
from .models import get_model
from .models.catalog import FAMILIES
from .models.saved import ENSEMBLE_MEMBERS, MODEL_FILES, load_model
from .scale.letterbox import letterbox_video
from .training.clips import clip_indices, content_box, count_frames, decode_clips
from .video.encode import EncodeSettings
from .workspace import Workspace


def resolve_model_path(ref: str, ws: Workspace) -> Path:
    """Model file for a model id (its ``results/<id>/`` folder), a run folder or a model file."""
    if Path(ref).exists():
        path = Path(ref)
    else:
        entry = get_model(ref)  # unknown id -> InputError listing the known ones
        path = ws.results_dir / entry.id
        if not path.exists():
            raise InputError(path, f"model '{entry.id}' has not been trained; run 'fvc train --model {entry.id}'")
    if path.is_dir():
        for name in MODEL_FILES:
            if (path / name).exists():
                return path / name
        raise InputError(path, f"no {' or '.join(MODEL_FILES)} in this folder")
    return path


@dataclass
class ClipInputs:
    """A deep model's batch for one video, with the uint8 clips (K,T,H,W,3) and their frame indices."""

    batch: dict[str, Any]
    clips: np.ndarray
    frames: list[list[int]]
    n_frames: int


@dataclass
class Prediction:
    video: str
    prob_fake: float | None
    verdict: str | None
    clips: int | None
    error: str | None = None

    def as_row(self) -> dict[str, Any]:
        return {"video": self.video, "prob_fake": self.prob_fake, "verdict": self.verdict, "clips": self.clips,
                "error": self.error}


class Predictor:
    """A loaded model plus the preprocessing its card records."""

    def __init__(self, path: str | Path, threshold: float = 0.5, device: str = "cpu"):
        self.path = Path(path)
        self.threshold = threshold
        self.device = device
        self.model, self.card = load_model(self.path)
        self.model_id = self.card.model_id
        self.kind = self.card.family
        self.data = self.card.data_config
        if self.kind not in FAMILIES:  # never guess how to score a model
            raise InputError(self.path, f"its card names an unknown model family '{self.kind}' (known: "
                             f"{', '.join(FAMILIES)})")
        if self.data.scale != "letterbox" or self.card.scale_config.method != "letterbox":
            raise InputError(self.path, f"predict replays letterbox scaling only, this model was trained on "
                             f"'{self.card.scale_config.method}'")
        if self.kind == "deep":
            self.model.to(device)
        elif self.kind == "embedding":  # 5f-5j: the backbone inside the saved model embeds, then the Pipeline
            self.model.backbone.to(device)
        elif self.kind == "ensemble":  # each member replays its own card, from members/<id>/ beside this one
            folder = self.path.parent if self.path.is_file() else self.path
            self.members = [Predictor(folder / ENSEMBLE_MEMBERS / m, threshold, device) for m in self.model.members]

    @classmethod
    def load(cls, ref: str, ws: Workspace, **kw: Any) -> Predictor:
        return cls(resolve_model_path(ref, ws), **kw)

    # -- per file ---------------------------------------------------------
    def predict_file(self, path: str | Path) -> Prediction:
        path = Path(path)
        try:
            with tempfile.TemporaryDirectory(prefix="fvc-predict-") as tmp:
                prob, clips = self._score(path, Path(tmp))
        except FvcError as exc:  # a bad video, named; a bug in our code propagates, never an error row
            return Prediction(str(path), None, None, None, str(exc))
        except av.FFmpegError as exc:  # a decoder or codec surprise on one file must not stop the others
            return Prediction(str(path), None, None, None, f"{path}: cannot decode ({exc})")
        return Prediction(str(path), prob, "fake" if prob >= self.threshold else "real", clips)

    def predict_files(self, paths: Iterable[str | Path]) -> list[Prediction]:
        return [self.predict_file(p) for p in paths]

    def _score(self, path: Path, tmp: Path) -> tuple[float, int]:
        """(P(fake), clips or rows scored) for one file; errors propagate to ``predict_file``."""
        score = {"features": self._features, "deep": self._deep, "embedding": self._embedding,
                 "ensemble": self._ensemble}[self.kind]
        return score(path, tmp)

    def _ensemble(self, path: Path, tmp: Path) -> tuple[float, int]:
        """The mean of the members' probabilities; a member that cannot score the file fails the file."""
        scored = []
        for k, member in enumerate(self.members):
            sub = tmp / f"member-{k}"
            sub.mkdir()
            scored.append(member._score(path, sub))
        return float(np.mean([p for p, _ in scored])), sum(n for _, n in scored)

    def scaled(self, src: Path, tmp: Path):
        """Stage 3 for one file: letterbox to the card's size, re-encoded as ``fvc scale`` did in training."""
        sc = self.card.scale_config
        dst = tmp / "scaled.mp4"
        info = letterbox_video(src, dst, sc.size, EncodeSettings(options={"preset": sc.preset, "crf": str(sc.crf)}))
        return dst, info["geometry"]

    def clip_inputs(self, scaled: Path, geometry, clips_per_video: int | None = None) -> ClipInputs:
        """Model inputs for the card's clips of a scaled video; ``clips_per_video`` asks for a denser cover
        (explanations score short stretches), everything else stays the card's."""
        import torch  # heavy: only deep models need it (training.dataset imports it too)

        from .training.dataset import clip_batch
        from .training.transforms import ClipTransform

        spec = self.data.clip if clips_per_video is None else replace(self.data.clip, clips_per_video=clips_per_video)
        g = geometry
        box = content_box(g.size, g.size, g.width, g.height)
        clips, flow, (vh, vw) = decode_clips(scaled, spec, box)
        varaspect = spec.mode == "varaspect"
        batch = ClipTransform(self.data.mean, self.data.std, varaspect)(  # the trainer's path: uint8 -> device
            clip_batch(clips, flow, vh, vw, varaspect), torch.device(self.device))
        n = count_frames(scaled)
        return ClipInputs(batch, clips, clip_indices(n, spec.frames, spec.clips_per_video), n)

    def clip_logits(self, inputs: ClipInputs) -> np.ndarray:
        """One logit per clip (no gradients)."""
        import torch  # heavy: only deep models need it

        with torch.no_grad():
            return self.model(**{k: v.to(self.device) for k, v in inputs.batch.items()}).float().cpu().numpy()

    def _deep(self, path: Path, tmp: Path) -> tuple[float, int]:
        logits = self.clip_logits(self.clip_inputs(*self.scaled(path, tmp)))
        return float(np.mean(1.0 / (1.0 + np.exp(-logits)))), len(logits)

    def _embedding(self, path: Path, tmp: Path) -> tuple[float, int]:
        """5f-5j: the saved backbone's pooled clip features, mean and std over the clips, then the trees."""
        from .training.embeddings import clip_embeddings, pool_videos  # imports torch: deep models only

        feats, _ = clip_embeddings(self.model.backbone, [self.clip_inputs(*self.scaled(path, tmp)).batch], self.device)
        row = pool_videos(feats, [str(path)] * len(feats))
        return float(self.model.predict_proba(row)[0, 1]), len(feats)

    def feature_row(self, path: Path, tmp: Path) -> dict[str, Any]:
        """The card's stage-2 (and stage-4) features of one video, as the model reads them."""
        fcfg = self.card.features_config
        row = video_features(path, fcfg)
        if 4 in self.data.stages:
            scaled, g = self.scaled(path, tmp)
            s4 = video_features(scaled, fcfg)
            s4.update({"is_upscaled": float(g.is_upscaled), "is_downscaled": float(g.is_downscaled)})
            row.update({f"s4_{c}": s4[c] for c in feature_columns(s4)})
        return row

    def _features(self, path: Path, tmp: Path) -> tuple[float, int]:
        prob = self.model.predict_proba(pd.DataFrame([self.feature_row(path, tmp)]))[:, 1]
        return float(prob[0]), 1


def predict_videos(paths: Iterable[str | Path], model_path: str | Path, threshold: float = 0.5) -> list[Prediction]:
    """Load the model once and score every file; failures become rows with ``error``."""
    return Predictor(model_path, threshold=threshold).predict_files(paths)
