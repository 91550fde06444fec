"""A trained model on disk: ``model.joblib`` or ``model.pt`` plus its model card ``model.json``.

The card is the model's data contract, like torchvision's weights carrying
their transforms: which inputs (data config, feature columns and version),
how a new video must be prepared (feature sampling, scale method and size),
and where it came from (config hash, data fingerprint, package version).
Whoever loads a model replays its card and never the workspace's ``fvc.yaml``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from .. import __version__
from ..config import FeaturesConfig, ScaleConfig
from ..errors import InputError
from ..training.metrics import json_safe
from ..workspace import atomic_path, atomic_write_text
from .catalog import DataConfig, get_model

CARD_FILE = "model.json"
FEATURE_FILE = "model.joblib"
DEEP_FILE = "model.pt"
MODEL_FILES = (DEEP_FILE, FEATURE_FILE)
CARD_SCHEMA = 2


@dataclass
class ModelCard:
    """What a saved model needs to be used: written by the experiment, replayed by predict."""

    model_id: str
    name: str
    family: str
    preset: str
    data: dict[str, Any]
    features: dict[str, Any]
    scale: dict[str, Any]
    config_hash: str
    data_fingerprint: str
    columns: list[str] = field(default_factory=list)
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    cv: dict[str, Any] = field(default_factory=dict)
    training_summary: dict[str, Any] = field(default_factory=dict)  # models.training_summary: the OOD check's yardstick
    file: str = ""
    package_version: str = __version__
    created_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    schema: int = CARD_SCHEMA

    @property
    def data_config(self) -> DataConfig:
        return DataConfig.from_dict(self.data)

    @property
    def features_config(self) -> FeaturesConfig:
        return FeaturesConfig(**self.features)

    @property
    def scale_config(self) -> ScaleConfig:
        return ScaleConfig(**self.scale)

    def save(self, folder: Path) -> Path:
        return atomic_write_text(Path(folder) / CARD_FILE, json.dumps(json_safe(asdict(self)), indent=2))

    @classmethod
    def load(cls, path: Path) -> "ModelCard":
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(path, "model card not found beside the model; retrain with this version of fvc") from None
        except (OSError, ValueError) as exc:
            raise InputError(path, f"model card is not readable JSON ({exc})") from exc
        if not isinstance(raw, dict) or raw.get("schema") != CARD_SCHEMA:
            raise InputError(path, f"model card schema {raw.get('schema') if isinstance(raw, dict) else '?'} "
                             f"is not {CARD_SCHEMA}; retrain the model with this version of fvc")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass
class FeatureModel:
    """A fitted feature Pipeline and the columns it was fitted on, as saved to ``model.joblib``.

    Follows the scikit-learn contract: ``predict_proba`` returns ``(n, 2)``.
    ``input_example`` keeps a few training rows for the MLflow signature.
    """

    model_id: str
    pipeline: Any
    columns: list[str]
    stages: list[int]
    config_hash: str
    input_example: pd.DataFrame | None = None

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """[P(real), P(fake)] for rows of a features table (stage-4 columns prefixed ``s4_``)."""
        missing = [c for c in self.columns if c not in features.columns]
        if missing:
            raise InputError("features", f"model {self.model_id} needs columns missing here: {missing[:5]}")
        return self.pipeline.predict_proba(features[self.columns].astype("float64"))


def save_feature_model(folder: Path, model: FeatureModel, card: ModelCard) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FEATURE_FILE
    with atomic_path(path) as tmp:
        joblib.dump(model, tmp, compress=3)
    card.file, card.columns = FEATURE_FILE, list(model.columns)
    card.save(folder)
    return path


@dataclass
class EmbeddingModel:
    """A deep backbone and the Pipeline fitted on its per-video embeddings (5f-5j), saved together in one
    ``model.pt`` so that prediction needs nothing else: video -> clips -> backbone -> embedding -> P(fake)."""

    model_id: str
    backbone_id: str
    backbone: Any  # a catalog deep model (``embed`` gives its pooled clip features)
    pipeline: Any
    columns: list[str]

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    def predict_proba(self, embeddings: pd.DataFrame) -> np.ndarray:
        """[P(real), P(fake)] for rows of per-video embeddings (``emb_mean_*``, ``emb_std_*``)."""
        missing = [c for c in self.columns if c not in embeddings.columns]
        if missing:
            raise InputError("embeddings", f"model {self.model_id} needs columns missing here: {missing[:5]}")
        return self.pipeline.predict_proba(embeddings[self.columns].astype("float64"))


def save_embedding_model(folder: Path, model: EmbeddingModel, card: ModelCard) -> Path:
    """Backbone weights, the fitted Pipeline and its columns in ``model.pt``; the card rebuilds the backbone."""
    import torch  # heavy: feature-model users never load it

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DEEP_FILE
    with atomic_path(path) as tmp:
        torch.save({"kind": "fvc-embedding", "model_id": card.model_id, "backbone_id": model.backbone_id,
                    "state_dict": model.backbone.state_dict(), "pipeline": model.pipeline,
                    "columns": list(model.columns)}, tmp)
    card.file, card.columns = DEEP_FILE, list(model.columns)
    card.model_kwargs = {**card.model_kwargs, **({"weights": None} if "weights" in card.model_kwargs else {})}
    card.save(folder)
    return path


ENSEMBLE_MEMBERS = "members"


@dataclass
class EnsembleModel:
    """The mean ensemble as saved: member ids; each member's model and card sit in ``members/<id>/``."""

    model_id: str
    members: list[str]


def save_ensemble_model(folder: Path, model: EnsembleModel, card: ModelCard) -> Path:
    """``model.joblib`` naming the members (saved beforehand under ``members/``) and the ensemble's card."""
    missing = [m for m in model.members if not any((folder / ENSEMBLE_MEMBERS / m / n).exists() for n in MODEL_FILES)]
    if missing:
        raise InputError(folder / ENSEMBLE_MEMBERS, f"member model(s) {missing} not saved")
    path = folder / FEATURE_FILE
    with atomic_path(path) as tmp:
        joblib.dump(model, tmp)
    card.file, card.model_kwargs = FEATURE_FILE, {"members": list(model.members)}
    card.save(folder)
    return path


def save_deep_model(folder: Path, model, card: ModelCard) -> Path:
    """Weights and the card; the card's ``model_kwargs`` rebuild the network without pretrained weights."""
    import torch  # heavy: feature-model users never load it

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DEEP_FILE
    with atomic_path(path) as tmp:
        torch.save({"kind": "fvc-deep", "model_id": card.model_id, "state_dict": model.state_dict()}, tmp)
    card.file = DEEP_FILE
    card.model_kwargs = {**card.model_kwargs, **({"weights": None} if "weights" in card.model_kwargs else {})}
    card.save(folder)
    return path


def load_model(path: str | Path) -> tuple[Any, ModelCard]:
    """(model ready to predict, its card) from ``model.pt``/``model.joblib`` or the folder holding one."""
    path = Path(path)
    if path.is_dir():
        found = [path / n for n in MODEL_FILES if (path / n).exists()]
        if not found:
            raise InputError(path, f"no {DEEP_FILE} or {FEATURE_FILE} in this folder")
        path = found[0]
    if not path.exists():
        raise InputError(path, "model file not found; run 'fvc train' first")
    card = ModelCard.load(path.with_name(CARD_FILE))
    if path.suffix == ".pt":
        return _load_deep(path, card), card
    try:
        model = joblib.load(path)
    except Exception as exc:  # a truncated or foreign pickle: name the file
        raise InputError(path, f"cannot load model ({type(exc).__name__}: {exc})") from exc
    if not isinstance(model, (FeatureModel, EnsembleModel)):
        raise InputError(path, f"not a feature model saved by fvc train ({type(model).__name__})")
    return model, card


def _load_deep(path: Path, card: ModelCard):
    import torch  # heavy: feature-model users never load it

    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise InputError(path, f"cannot load deep model ({type(exc).__name__}: {exc})") from exc
    kind = payload.get("kind") if isinstance(payload, dict) else None
    if kind not in ("fvc-deep", "fvc-embedding"):
        raise InputError(path, "not a deep model saved by fvc train")
    entry = get_model(payload["backbone_id"] if kind == "fvc-embedding" else card.model_id)
    model = entry.build(card.model_kwargs)
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise InputError(path, f"weights do not fit model {entry.id} as defined now ({first[:120]}); retrain it") from exc
    if kind == "fvc-embedding":
        return EmbeddingModel(card.model_id, entry.id, model.eval(), payload["pipeline"], list(payload["columns"]))
    return model.eval()
