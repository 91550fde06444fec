"""Per-video fake probability from a trained model, feature-based or deep.

A new video goes through the same steps its model was trained on: stage-3
letterbox scaling (re-encoded like ``fvc scale``, so codec traces match)
and the model's clip sampling for deep models; stage-2 (and stage-4)
handcrafted features for feature models. Each file is handled on its own:
an unreadable file gives a row with its error and the rest carry on.

``--model`` takes a model id (``results/<id>/``), a run folder or model file,
or a registry URI such as ``models:/fvc-5d@champion``. URIs are resolved by
hooks registered with :func:`register_model_resolver` (``fvc.tracking``
registers the MLflow one when imported).
"""

from __future__ import annotations

import importlib
import importlib.util
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .config import FvcConfig
from .errors import FvcError, InputError, MissingDependencyError
from .workspace import Workspace

DEEP_FILE = "model.pt"
FEATURE_FILE = "model.joblib"
URI_SCHEMES = ("models:/", "runs:/", "mlflow:/")

# A resolver maps a model URI to a local file or folder holding model.pt / model.joblib, or returns None.
ModelResolver = Callable[[str, Workspace], "str | Path | None"]
_RESOLVERS: list[ModelResolver] = []


def register_model_resolver(fn: ModelResolver) -> ModelResolver:
    """Hook for registry URIs (``models:/name@alias``); first resolver returning a path wins."""
    if fn not in _RESOLVERS:
        _RESOLVERS.append(fn)
    return fn


def _resolve_uri(ref: str, ws: Workspace) -> Path:
    if importlib.util.find_spec("fvc.tracking") is not None:
        importlib.import_module("fvc.tracking")  # registers the MLflow resolver
    resolvers = list(_RESOLVERS)
    if not resolvers and importlib.util.find_spec("fvc.tracking.registry") is not None:
        tracking = importlib.import_module("fvc.tracking.registry")
        if hasattr(tracking, "resolve_model_path"):  # MLflow resolver: (ws, uri) -> local model file
            resolvers.append(lambda uri, w: tracking.resolve_model_path(w, uri))
    for fn in resolvers:
        out = fn(ref, ws)
        if out is not None:
            return Path(out)
    if not resolvers:
        raise MissingDependencyError(f"{ref}: no model-registry resolver is installed (fvc.tracking registers one)")
    raise InputError(ref, "no registered model matches this URI")


def resolve_model_path(ref: str, ws: Workspace) -> Path:
    """Model file for an id, a run folder, a model file or a registry URI."""
    if ref.startswith(URI_SCHEMES):
        path = _resolve_uri(ref, ws)
    elif Path(ref).exists():
        path = Path(ref)
    else:
        from .models.registry import get_model_spec

        spec = get_model_spec(ref)  # unknown id -> InputError listing the known ones
        path = ws.results_dir / spec.id
        if not path.exists():
            raise InputError(path, f"model '{spec.id}' has not been trained; run 'fvc train --model {spec.id}'")
    if path.is_dir():
        for name in (DEEP_FILE, FEATURE_FILE):
            if (path / name).exists():
                return path / name
        raise InputError(path, f"no {DEEP_FILE} or {FEATURE_FILE} in this folder")
    return path


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
    """A loaded model plus the preprocessing its training used."""

    def __init__(self, path: Path, cfg: FvcConfig, threshold: float = 0.5, device: str = "cpu"):
        self.path = Path(path)
        self.cfg = cfg
        self.threshold = threshold
        self.device = device
        if cfg.scale.method != "letterbox" and self.path.suffix == ".pt":
            raise InputError("fvc.yaml", f"predict replays letterbox scaling only, config has '{cfg.scale.method}'")
        if self.path.suffix == ".pt":
            from .training.deep_cv import load_deep_model

            self.kind = "deep"
            self.model, self.spec, payload = load_deep_model(self.path)
            self.model.to(device)
            self.model_id = payload["model_id"]
        else:
            from .training.results import load_model

            self.kind = "features"
            self.model = load_model(self.path)
            self.model_id = getattr(self.model, "model_id", self.path.parent.name)
            if not hasattr(self.model, "predict_proba") or not hasattr(self.model, "columns"):
                raise InputError(self.path, "not a feature model saved by fvc train")

    @classmethod
    def load(cls, ref: str, ws: Workspace, cfg: FvcConfig, **kw: Any) -> "Predictor":
        return cls(resolve_model_path(ref, ws), cfg, **kw)

    # -- per file ---------------------------------------------------------
    def predict_file(self, path: str | Path) -> Prediction:
        path = Path(path)
        try:
            with tempfile.TemporaryDirectory(prefix="fvc-predict-") as tmp:
                prob, clips = (self._deep if self.kind == "deep" else self._features)(path, Path(tmp))
        except FvcError as exc:
            return Prediction(str(path), None, None, None, str(exc))
        except Exception as exc:  # a decoder or codec surprise on one file must not stop the others
            return Prediction(str(path), None, None, None, f"{path}: {type(exc).__name__}: {exc}")
        return Prediction(str(path), prob, "fake" if prob >= self.threshold else "real", clips)

    def predict_files(self, paths: Iterable[str | Path]) -> list[Prediction]:
        return [self.predict_file(p) for p in paths]

    def _scaled(self, src: Path, tmp: Path):
        """Stage 3 for one file: letterbox to the configured size, re-encoded as ``fvc scale`` does."""
        from .augment.render import EncodeSettings
        from .scale.letterbox import letterbox_video

        sc = self.cfg.scale
        dst = tmp / "scaled.mp4"
        info = letterbox_video(src, dst, sc.size, EncodeSettings(options={"preset": sc.preset, "crf": str(sc.crf)}))
        return dst, info["geometry"]

    def _deep(self, path: Path, tmp: Path) -> tuple[float, int]:
        import torch

        from .training.clips import content_box, decode_clips
        from .training.dataset import KINETICS_MEAN, KINETICS_STD, collate_clips, make_item

        scaled, g = self._scaled(path, tmp)
        box = content_box(g.size, g.size, g.width, g.height)
        clips, flow, (vh, vw) = decode_clips(scaled, self.spec, box)
        mean = torch.tensor(KINETICS_MEAN).view(3, 1, 1, 1)
        std = torch.tensor(KINETICS_STD).view(3, 1, 1, 1)
        varaspect = self.spec.mode == "varaspect"
        items = [make_item(clips[k], None if flow is None else flow[k], vh, vw, varaspect, mean, std)
                 for k in range(len(clips))]
        batch = collate_clips(items)
        with torch.no_grad():
            logits = self.model(**{k: v.to(self.device) for k, v in batch.items()}).float().cpu().numpy()
        return float(np.mean(1.0 / (1.0 + np.exp(-logits)))), len(clips)

    def _features(self, path: Path, tmp: Path) -> tuple[float, int]:
        import pandas as pd

        from .data.index import probe_video
        from .features.extract import feature_columns, video_features

        row = video_features(path, probe_video(path), self.cfg.features)
        if 4 in getattr(self.model, "stages", [2]):
            scaled, g = self._scaled(path, tmp)
            s4 = video_features(scaled, probe_video(scaled), self.cfg.features)
            s4.update({"is_upscaled": float(g.is_upscaled), "is_downscaled": float(g.is_downscaled)})
            row.update({f"s4_{c}": s4[c] for c in feature_columns(s4)})
        prob = self.model.predict_proba(pd.DataFrame([row]))
        return float(prob[0]), 1


def predict_videos(paths: Iterable[str | Path], model: str, ws: Workspace, cfg: FvcConfig,
                   threshold: float = 0.5) -> list[Prediction]:
    """Load ``model`` once and score every file; failures become rows with ``error``."""
    return Predictor.load(model, ws, cfg, threshold=threshold).predict_files(paths)
