"""Query results out of DuckDB: a file by extension, written atomically."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError
from ..workspace import atomic_path

FORMATS = (".csv", ".parquet")


def write_output(df: pd.DataFrame, out: str | Path) -> Path:
    """Write ``df`` as CSV or Parquet, chosen by the file extension."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(out, f"unsupported output format '{suffix or '(none)'}'; use .csv or .parquet")
    with atomic_path(out) as tmp:
        if suffix == ".csv":
            df.to_csv(tmp, index=False)
        else:
            df.to_parquet(tmp, index=False, engine="pyarrow")
    return out
