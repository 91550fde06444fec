"""What a features table holds: its version and which of its columns are features.

Kept apart from the extraction code (and its compiled passes) so that the
training side, which only reads features tables, imports none of it.
"""

from __future__ import annotations

# Bump when a feature's definition changes: part of the stage config hash.
FEATURE_VERSION = 9
FEATURE_PREFIXES = ("noise_", "dct_", "sharp_", "block_", "temporal_", "codec_", "lnoise_", "ltex_", "tdisc_", "mv_",
                    "gop_")


def feature_columns(columns) -> list[str]:
    """The feature columns of a features table (by prefix, plus the scale flags)."""
    return [c for c in columns if c.startswith(FEATURE_PREFIXES) or c in ("is_upscaled", "is_downscaled")]
