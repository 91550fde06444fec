"""Trainable models: the registry, feature models here, deep models in ``fvc.models.deep``."""

from .registry import ModelSpec, get_model_spec, list_models, register, register_model

__all__ = ["ModelSpec", "get_model_spec", "list_models", "register", "register_model"]
