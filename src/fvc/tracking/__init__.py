"""Experiment tracking: MLflow store, observers, JSONL log, model registry.

Nothing below this layer imports it: trainers and the experiment loop emit
events (``fvc.training.events``) and these observers turn them into records.
"""
