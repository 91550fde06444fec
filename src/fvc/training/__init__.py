"""Cross-validation, metrics, result layout, run configs and training events shared by all models."""
