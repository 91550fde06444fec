"""Stage 1: deterministic spatial and temporal video augmentation, streamed."""
