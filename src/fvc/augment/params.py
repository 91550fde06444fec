"""Deterministic augmentation parameters: a pure function of (video_id, aug_index, seed, profile).

The seed is derived with sha256, never Python's ``hash()`` (salted per
process), so a re-run, another machine or a resumed run draws exactly the
same parameters. Every operation draws from its own sub-generator, so
switching one op on or off never shifts the values of the others.

A profile says which ops may be on and how strong they are:

- ``full``: every op at the ranges below, re-encoded at ``augment.crf``
  (the deep models' clips: variety matters, forensic traces do not).
- ``forensic_safe``: only ops that keep the traces the stage-2 features
  measure: a horizontal flip (exact pixels), reversal (the same frame
  differences), colour at small strength, and a re-encode at high quality
  (CRF at most ``SAFE_MAX_CRF``). Resampling (rotation, affine, elastic),
  blur, noise and cutout overwrite sensor noise, sharpness and the 8x8
  coding grid; dropping and duplicating frames fake a timeline edit.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

# Bumped whenever the meaning of a parameter changes: part of the stage's config hash.
PARAMS_VERSION = 2

SPATIAL_OPS = ("hflip", "rotate", "affine", "elastic", "color", "blur", "noise", "cutout")
TEMPORAL_OPS = ("drop", "duplicate", "reverse")
OPS = SPATIAL_OPS + TEMPORAL_OPS

MAX_DROP = 0.25  # frame dropping never removes more than a quarter of the frames
MAX_DUPLICATE = 0.25

PROFILES = ("full", "forensic_safe")
SAFE_OPS = ("hflip", "color", "reverse")
SAFE_MAX_CRF = 12
SAFE_COLOR = {"brightness": 0.03, "contrast": 0.05, "saturation": 0.1}  # +- around no change


def profile_ops(profile: str) -> tuple[str, ...]:
    """The ops a profile may switch on."""
    if profile == "full":
        return OPS
    if profile == "forensic_safe":
        return SAFE_OPS
    raise ValueError(f"unknown augmentation profile {profile!r}; profiles are {', '.join(PROFILES)}")


def profile_crf(profile: str, crf: int) -> int:
    """The CRF a profile re-encodes at, given the configured one."""
    return min(int(crf), SAFE_MAX_CRF) if profile == "forensic_safe" else int(crf)


def derive_seed(video_id: str, aug_index: int, seed: int) -> int:
    """A 63-bit seed from sha256 of the three inputs (stable across processes)."""
    blob = f"{video_id}\x1f{int(aug_index)}\x1f{int(seed)}".encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big") & (2**63 - 1)


def _op_rng(seed: int, op: str) -> np.random.Generator:
    return np.random.default_rng([seed, OPS.index(op)])


def _r(x: float, nd: int = 4) -> float:
    return round(float(x), nd)


def _sample_op(op: str, rng: np.random.Generator, profile: str = "full") -> dict[str, Any]:
    """Values of one op; ranges are the ones stated in the augmentation spec."""
    u = rng.uniform
    if op == "color" and profile == "forensic_safe":
        b, c, s = SAFE_COLOR["brightness"], SAFE_COLOR["contrast"], SAFE_COLOR["saturation"]
        return {"brightness": _r(u(-b, b)), "contrast": _r(u(1 - c, 1 + c)), "saturation": _r(u(1 - s, 1 + s))}
    if op == "hflip":
        return {}
    if op == "rotate":
        return {"degrees": _r(u(-10.0, 10.0), 3)}
    if op == "affine":
        return {
            "translate_x": _r(u(-0.06, 0.06)),  # fraction of width
            "translate_y": _r(u(-0.06, 0.06)),  # fraction of height
            "scale": _r(u(0.9, 1.1)),
            "shear_degrees": _r(u(-8.0, 8.0), 3),
        }
    if op == "elastic":
        return {
            "alpha": _r(u(0.01, 0.03)),  # max displacement, fraction of the short side
            "sigma": _r(u(0.05, 0.1)),  # smoothness, fraction of the short side
            "field_seed": int(rng.integers(0, 2**31 - 1)),
        }
    if op == "color":
        return {
            "brightness": _r(u(-0.15, 0.15)),  # added, fraction of full scale
            "contrast": _r(u(0.8, 1.2)),
            "saturation": _r(u(0.7, 1.3)),
        }
    if op == "blur":
        return {"sigma": _r(u(0.5, 1.5))}
    if op == "noise":
        return {"sigma": _r(u(2.0, 10.0), 3), "noise_seed": int(rng.integers(0, 2**31 - 1))}
    if op == "cutout":
        holes = int(rng.integers(1, 4))
        return {
            "holes": [
                {"cx": _r(u(0, 1)), "cy": _r(u(0, 1)), "w": _r(u(0.08, 0.25)), "h": _r(u(0.08, 0.25))}
                for _ in range(holes)
            ],
            "fill": 0,
        }
    if op == "drop":
        return {"rate": _r(u(0.05, MAX_DROP))}
    if op == "duplicate":
        return {"rate": _r(u(0.05, MAX_DUPLICATE))}
    if op == "reverse":
        return {}
    raise KeyError(op)


def sample_params(video_id: str, aug_index: int, seed: int, op_probability: float = 0.5,
                  profile: str = "full") -> dict[str, Any]:
    """Which ops are on for this augmentation, and all their values (JSON-ready).

    Each op of the profile is on with ``op_probability``; at least one is
    always on, so no augmented copy equals its original. Ops outside the
    profile are off. The full profile's values do not depend on the profile
    machinery: the same draws as before profiles existed.
    """
    allowed = profile_ops(profile)
    s = derive_seed(video_id, aug_index, seed)
    chooser = np.random.default_rng([s, len(OPS)])
    on = chooser.random(len(OPS)) < op_probability
    if profile != "full":
        on &= np.isin(np.array(OPS), allowed)
        if not on.any():
            on[OPS.index(allowed[int(chooser.integers(0, len(allowed)))])] = True
    elif not on.any():
        on[int(chooser.integers(0, len(OPS)))] = True
    ops = {}
    for op, flag in zip(OPS, on):
        ops[op] = {"on": bool(flag), **_sample_op(op, _op_rng(s, op), profile)}
    return {"version": PARAMS_VERSION, "profile": profile, "seed": s, "ops": ops}


def enabled(params: dict[str, Any], op: str) -> dict[str, Any] | None:
    """The op's values if it is on, else None."""
    spec = params.get("ops", {}).get(op)
    return spec if spec and spec.get("on") else None


def only(op: str, **values: Any) -> dict[str, Any]:
    """Params with exactly one op on (for tests and for reproducing one effect)."""
    ops = {name: {"on": False} for name in OPS}
    ops[op] = {"on": True, **values}
    return {"version": PARAMS_VERSION, "profile": "full", "seed": 0, "ops": ops}


def to_json(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))
