"""5f-5j: XGBoost on a deep backbone's per-video embeddings (mean and std of its pooled clip features).

The estimator is 5beta-xgb's (same preprocessing Pipeline, same grid, same
inner grouped search); the backbone is a deep entry of the catalog at the
preset of the same name (``smoke``: the tiny backbone; ``full``: its
published configuration and pretrained weights). Backbone options
(``weights``, ``frames``, ``epochs`` ...) go in the run's ``params`` beside
the estimator's own and are routed to the backbone by name.
"""

from __future__ import annotations

from .catalog import DataConfig, ModelEntry, register_model
from .feature_zoo import xgboost

XGB_GRID = {"clf__max_depth": [2, 3]}  # 5beta-xgb's grid


def _embedding_entry(model_id: str, backbone: str, label: str, summary: str, paper: str, year: int) -> ModelEntry:
    preset = {"model": {}, "grid": dict(XGB_GRID), "backbone": {}}
    return ModelEntry(model_id, f"XGBoost on {label}", "embedding", xgboost,
                      {"smoke": dict(preset), "full": dict(preset)},
                      DataConfig(kind="embeddings", backbone=backbone, source="scaled"), summary,
                      paper=f"Chen & Guestrin 2016; {paper}", year=year, importance="native")


_ENTRIES = [
    _embedding_entry("5f", "5d", "R3D-18 embeddings", "XGBoost on R3D-18 clip embeddings (the plan's "
                     "'pretrained Inception' features)", "Tran et al. 2018", 2018),
    _embedding_entry("5g", "5o", "I3D embeddings", "XGBoost on I3D (inflated ResNet-50) clip embeddings",
                     "Carreira & Zisserman 2017", 2017),
    _embedding_entry("5h", "5p", "R(2+1)D-18 embeddings", "XGBoost on R(2+1)D-18 clip embeddings",
                     "Tran et al. 2018", 2018),
    _embedding_entry("5i", "5k", "ViT-GRU embeddings", "XGBoost on ViT-GRU clip embeddings",
                     "Dosovitskiy et al. 2021", 2021),
    _embedding_entry("5j", "5l", "ViT-Transformer embeddings", "XGBoost on ViT-Transformer clip embeddings",
                     "Dosovitskiy et al. 2021", 2021),
]
for _entry in _ENTRIES:
    register_model(_entry)
