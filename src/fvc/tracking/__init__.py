"""Experiment tracking: MLflow store, observers, JSONL log, model registry.

Nothing here is imported by the trainers: they emit events
(``fvc.training.events``) and these observers turn them into records.
"""
