"""Deep models (``model.pt``) as MLflow pyfuncs: video paths in, fake probability out.

A deep model cannot take a feature table: it needs the video, letterboxed
as in training, cut into the model's clips. The pyfunc therefore wraps
``fvc.predict.Predictor``, the same code ``fvc predict`` runs, with the
weights, their ``model.json`` and the workspace's ``fvc.yaml`` (the scaling
settings the model was trained with) as artifacts. The input is a DataFrame
with a ``path`` column.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from ..errors import FvcError, InputError
from ..workspace import Workspace, atomic_write_text

MODEL_KEY = "model"
META_KEY = "model_meta"
CONFIG_KEY = "fvc_config"
CONFIG_FILE = "fvc_config.yaml"
PATH_COLUMN = "path"
EXAMPLE_PATH = "video.mp4"
# Distributions the deep prediction path imports (decode, letterbox, flow, the network).
DEEP_REQUIREMENTS = ("mlflow", "torch", "torchvision", "timm", "av", "opencv-python-headless", "numpy", "pandas",
                     "pyarrow", "pydantic", "pyyaml", "scikit-learn")


class FvcDeepPyfunc(PythonModel):
    """An fvc deep model as pyfunc; one probability per row of ``path``."""

    def load_context(self, context) -> None:
        from ..config import FvcConfig
        from ..predict import Predictor

        cfg_path = context.artifacts.get(CONFIG_KEY)
        cfg = FvcConfig.from_yaml(Path(cfg_path)) if cfg_path else FvcConfig()
        self.predictor = Predictor(Path(context.artifacts[MODEL_KEY]), cfg)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        df = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if PATH_COLUMN not in df.columns:
            raise FvcError(f"deep model input needs a '{PATH_COLUMN}' column of video files, got {list(df.columns)}")
        preds = self.predictor.predict_files(df[PATH_COLUMN].astype(str).tolist())
        failed = [p for p in preds if p.error is not None]
        if failed:  # a NaN would pass for a score downstream; say which files and why
            raise FvcError(f"{len(failed)} of {len(preds)} videos could not be scored: {failed[0].error}")
        return np.array([p.prob_fake for p in preds], dtype="float64")


def deep_requirements() -> list[str]:
    """Pinned versions of the installed distributions the deep pyfunc needs."""
    from .registry import pinned_requirements

    return pinned_requirements(list(DEEP_REQUIREMENTS))


def deep_signature():
    """Input: a ``path`` string column; output: one float (P(fake)) per row."""
    from mlflow.models import infer_signature

    return infer_signature(deep_input_example(), np.array([0.5], dtype="float64"))


def deep_input_example() -> pd.DataFrame:
    return pd.DataFrame({PATH_COLUMN: [EXAMPLE_PATH]})


def deep_artifacts(ws: Workspace, model_path: Path, run_id: str) -> dict[str, str]:
    """Weights, their metadata and the workspace config (written to the cache) as pyfunc artifacts."""
    from ..config import load_config

    model_path = Path(model_path)
    if not model_path.exists():
        raise InputError(model_path, "final model file not found; cannot log it to MLflow")
    meta = model_path.with_name("model.json")
    try:
        kind = json.loads(meta.read_text()).get("kind") if meta.exists() else None
    except json.JSONDecodeError as exc:
        raise InputError(meta, f"model metadata is not valid JSON ({exc})") from exc
    if meta.exists() and kind != "fvc-deep":
        raise InputError(meta, f"not a deep model saved by fvc train (kind {kind!r})")
    cfg_file = ws.cache_dir / "mlflow-configs" / run_id / CONFIG_FILE
    atomic_write_text(cfg_file, load_config(ws).to_yaml())
    arts = {MODEL_KEY: str(model_path), CONFIG_KEY: str(cfg_file)}
    if meta.exists():
        arts[META_KEY] = str(meta)
    return arts
