"""The model catalog: every model id with its builder, data config, weights and presets.

Importing the package registers the feature models (scikit-learn) and the
deep video models, CNNs and transformers (builders import torch only when called),
the tree models on deep embeddings and the mean ensemble.
"""

from . import embedding_zoo, ensemble_zoo, feature_zoo, transformer_zoo, video_zoo  # noqa: F401  (register)
from .catalog import (DataConfig, ModelEntry, Weights, create_model, get_model, list_models, register_model,
                      resolve_models)

__all__ = ["DataConfig", "ModelEntry", "Weights", "create_model", "get_model", "list_models", "register_model",
           "resolve_models"]
