"""GOP-aware double compression: the DCT double-quantisation traces of I-frames and of P/B-frames, apart.

A re-encoded video's I-frames carry the previous encode's quantisation on
top of their own, while its predicted frames are mostly residual: the
ratio of the two exposes a second compression that whole-video averages
mix away. Fed with ``dct.frame_dct`` rows and each frame's picture type.
"""

from __future__ import annotations

import numpy as np

from . import dct
from .summary import row_stats

NAMES = ("gop_dq_intra", "gop_dq_inter", "gop_dq_ratio", "gop_zero_intra", "gop_zero_inter", "gop_zero_ratio")
MAX_INTRA = 2  # keyframes analysed per video besides the sampled frames (each costs a DCT)
_DQ, _ZERO = dct.NAMES.index("dct_dq_periodicity"), dct.NAMES.index("dct_zero_ratio")


def gop_features(intra: list[np.ndarray], inter: list[np.ndarray]) -> dict[str, float]:
    """NAMES from the ``frame_dct`` rows of intra-coded and of predicted frames."""
    intra_mean, inter_mean = row_stats(intra, len(dct.NAMES))[0], row_stats(inter, len(dct.NAMES))[0]
    dq_i, dq_p, z_i, z_p = (float(v) for v in (intra_mean[_DQ], inter_mean[_DQ], intra_mean[_ZERO], inter_mean[_ZERO]))
    return {"gop_dq_intra": dq_i, "gop_dq_inter": dq_p, "gop_dq_ratio": (dq_i + 0.01) / (dq_p + 0.01),
            "gop_zero_intra": z_i, "gop_zero_inter": z_p, "gop_zero_ratio": (z_i + 0.01) / (z_p + 0.01)}
