"""Deterministic random streams keyed by names, so parallel work never depends on order.

Python's ``hash()`` is salted per process; a keyed BLAKE2 digest gives the
same numpy Generator for the same (seed, keys) on every run and in every worker.
"""

from __future__ import annotations

import hashlib

import numpy as np


def key_int(seed: int, *keys: object) -> int:
    """A 64-bit integer derived from the seed and any printable keys."""
    text = repr((int(seed),) + tuple(str(k) for k in keys)).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """A numpy Generator that depends only on ``seed`` and ``keys``."""
    return np.random.default_rng(key_int(seed, *keys))
