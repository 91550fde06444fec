"""Handcrafted per-video features (stages 2 and 4): one module per feature family."""
