"""Experiment tracking: MLflow store, observers, JSONL log, model registry.

Nothing here is imported by the trainers: they emit events
(``fvc.training.events``) and these observers turn them into records.
"""

from ..training.events import register_observer_factory


def _train_observers(ws, options) -> list:
    """Observers ``fvc train`` attaches: the JSONL log always, MLflow on the workspace store or --tracking-uri."""
    from .jsonl_log import JsonlObserver
    from .mlflow_observer import MlflowObserver

    return [JsonlObserver(ws), MlflowObserver(ws, tracking_uri=options.get("tracking_uri"))]


register_observer_factory(_train_observers)
