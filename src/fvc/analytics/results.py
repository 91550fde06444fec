"""Result files (``results/<model>/metrics.json`` and OOF predictions) as tables.

metrics.json is nested (per-fold lists, mean/std dicts, a confusion matrix);
SQL wants one flat row per model, so nested dicts become dotted column names
and lists (per-fold values, matrices) stay as JSON text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError

METRICS_FILE = "metrics.json"
OOF_FILE = "oof_predictions.parquet"


def flatten(obj: dict[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """Flatten nested dicts into ``a.b.c`` keys; lists become JSON strings."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(flatten(value, name, sep))
        elif isinstance(value, (list, tuple)):
            out[name] = json.dumps(value, default=str)
        else:
            out[name] = value
    return out


def metrics_files(results_dir: Path) -> list[Path]:
    """Every metrics.json under the results folder (one per model, any depth)."""
    if not results_dir.exists():
        return []
    return sorted(results_dir.rglob(METRICS_FILE))


def load_results(results_dir: Path) -> pd.DataFrame:
    """One flat row per metrics.json; ``model_id`` defaults to the folder name."""
    rows = []
    for path in metrics_files(results_dir):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(path, f"not a readable metrics.json ({exc})") from exc
        if not isinstance(data, dict):
            raise InputError(path, "metrics.json must hold a JSON object")
        row = flatten(data)
        row.setdefault("model_id", path.parent.name)
        row["result_dir"] = str(path.parent.relative_to(results_dir))
        rows.append(row)
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    # Mixed types in one column (an int in one file, a dict-string in another)
    # would make DuckDB refuse the frame: keep such columns as text.
    for col in df.columns:
        kinds = {type(v) for v in df[col].dropna()}
        if len(kinds) > 1 and not kinds <= {int, float, bool}:
            df[col] = df[col].map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
    front = ["model_id", "result_dir"]
    return df[front + [c for c in df.columns if c not in front]]


def oof_files(results_dir: Path) -> list[Path]:
    if not results_dir.exists():
        return []
    return sorted(results_dir.rglob(OOF_FILE))
