"""Deep models (``model.pt``) as MLflow pyfuncs: video paths in, fake probability out.

A deep model cannot take a feature table: it needs the video, letterboxed
as in training, cut into the model's clips. The pyfunc therefore wraps
``fvc.predict.Predictor``, the same code ``fvc predict`` runs, with the
weights and their model card (``model.json``: clip, normalisation, scale
recipe) as artifacts. The input is a DataFrame with a ``path`` column.
XGBoost on deep embeddings (5f-5j) is saved the same way (backbone and
trees in one ``model.pt``) and the ensemble as its folder (members beside
it); both are logged by the same pyfunc.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel

from ..errors import FvcError, InputError
from ..models.saved import CARD_FILE, ModelCard
from ..predict import Predictor
from .requirements import pinned_requirements

MODEL_KEY = "model"
META_KEY = "model_card"
PATH_COLUMN = "path"
EXAMPLE_PATH = "video.mp4"
# Distributions the deep prediction path imports (decode, letterbox, flow, the network; the tree model of 5f-5j).
DEEP_REQUIREMENTS = ("mlflow", "torch", "torchvision", "timm", "transformers", "av", "opencv-python-headless",
                     "numpy", "pandas", "pyarrow", "pydantic", "pyyaml", "scikit-learn", "xgboost")
# Model families scored from video files: deep models, 5f-5j (backbone + trees in model.pt), and the ensemble
# (model.joblib naming members saved beside it: the whole folder is the artifact).
VIDEO_FAMILIES = ("deep", "embedding", "ensemble")


class FvcDeepPyfunc(PythonModel):
    """An fvc deep model as pyfunc; one probability per row of ``path``."""

    def load_context(self, context) -> None:
        self.predictor = Predictor(Path(context.artifacts[MODEL_KEY]))

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
    return pinned_requirements(list(DEEP_REQUIREMENTS))


def deep_signature():
    """Input: a ``path`` string column; output: one float (P(fake)) per row."""
    from mlflow.models import infer_signature

    return infer_signature(deep_input_example(), np.array([0.5], dtype="float64"))


def deep_input_example() -> pd.DataFrame:
    return pd.DataFrame({PATH_COLUMN: [EXAMPLE_PATH]})


def deep_artifacts(model_path: Path) -> dict[str, str]:
    """The weights (an ensemble: its folder, members included) and the model card as pyfunc artifacts."""
    model_path = Path(model_path)
    if not model_path.exists():
        raise InputError(model_path, "final model file not found; cannot log it to MLflow")
    card = ModelCard.load(model_path.with_name(CARD_FILE))
    if card.family not in VIDEO_FAMILIES:
        raise InputError(model_path.with_name(CARD_FILE), f"not a deep model card (family {card.family!r})")
    model = model_path.parent if card.family == "ensemble" else model_path
    return {MODEL_KEY: str(model), META_KEY: str(model_path.with_name(CARD_FILE))}
