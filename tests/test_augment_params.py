"""Augmentation parameters: deterministic, hashed seeds, ranges as specified."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

from fvc.augment.params import MAX_DROP, OPS, derive_seed, enabled, only, sample_params, to_json


def test_seed_is_sha256_of_inputs_not_python_hash():
    blob = "vid\x1f3\x1f42".encode()
    assert derive_seed("vid", 3, 42) == int.from_bytes(hashlib.sha256(blob).digest()[:8], "big") & (2**63 - 1)


def test_same_inputs_same_params_across_processes():
    code = "from fvc.augment.params import sample_params, to_json; print(to_json(sample_params('abc', 2, 7)))"
    outs = set()
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        outs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.strip())
    assert outs == {to_json(sample_params("abc", 2, 7))}


def test_params_depend_on_each_input():
    base = to_json(sample_params("abc", 1, 42))
    assert base != to_json(sample_params("abd", 1, 42))
    assert base != to_json(sample_params("abc", 2, 42))
    assert base != to_json(sample_params("abc", 1, 43))


def test_ranges_and_at_least_one_op():
    for k in range(1, 60):
        p = sample_params("v", k, 0)
        assert set(p["ops"]) == set(OPS)
        assert any(spec["on"] for spec in p["ops"].values())
        assert -10 <= p["ops"]["rotate"]["degrees"] <= 10
        assert 0 < p["ops"]["drop"]["rate"] <= MAX_DROP
        json.loads(to_json(p))  # JSON-ready
    none_on = sample_params("v", 1, 0, op_probability=0.0)
    assert sum(spec["on"] for spec in none_on["ops"].values()) == 1
    all_on = sample_params("v", 1, 0, op_probability=1.0)
    assert all(spec["on"] for spec in all_on["ops"].values())


def test_values_do_not_depend_on_which_ops_are_on():
    a = sample_params("v", 5, 1, op_probability=0.0)
    b = sample_params("v", 5, 1, op_probability=1.0)
    for op in OPS:
        va = {k: v for k, v in a["ops"][op].items() if k != "on"}
        vb = {k: v for k, v in b["ops"][op].items() if k != "on"}
        assert va == vb


def test_only_helper():
    p = only("blur", sigma=1.0)
    assert enabled(p, "blur") == {"on": True, "sigma": 1.0}
    assert all(enabled(p, op) is None for op in OPS if op != "blur")
