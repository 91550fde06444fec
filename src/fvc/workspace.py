"""Where every artifact lives, and atomic writes so a crash never leaves half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported where tables are touched, keeping `fvc --help` fast
    import pandas as pd

DEFAULT_WORKSPACE = "fvc-workspace"
ENV_WORKSPACE = "FVC_WORKSPACE"
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results should read like any other file
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_table(df: "pd.DataFrame", path: str | Path) -> Path:
    """Write a DataFrame as Parquet atomically."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False, engine="pyarrow")
    return Path(path)


def read_table(path: str | Path) -> "pd.DataFrame":
    import pandas as pd

    from .errors import InputError

    path = Path(path)
    if not path.exists():
        raise InputError(path, "table not found; run the stage that writes it first")
    try:
        return pd.read_parquet(path, engine="pyarrow")
    except Exception as exc:  # pyarrow raises several unrelated types
        raise InputError(path, f"not a readable Parquet table ({exc})") from exc


@dataclass(frozen=True)
class Workspace:
    """A workspace folder: config, extracted videos, tables and artifacts.

    Every path in the project derives from here, so a workspace can be moved
    or deleted as one unit.
    """

    root: Path

    @classmethod
    def resolve(cls, path: str | Path | None = None) -> "Workspace":
        chosen = path or os.environ.get(ENV_WORKSPACE) or DEFAULT_WORKSPACE
        return cls(Path(chosen).expanduser().resolve())

    def ensure(self) -> "Workspace":
        for d in (self.root, self.tables_dir, self.artifacts_dir):
            d.mkdir(parents=True, exist_ok=True)
        return self

    # -- layout -----------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / "fvc.yaml"

    @property
    def raw_dir(self) -> Path:
        """Extracted archive contents, as they were in the archives."""
        return self.root / "raw"

    @property
    def metadata_dir(self) -> Path:
        return self.root / "metadata"

    @property
    def tables_dir(self) -> Path:
        return self.root / "tables"

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"

    @property
    def plots_dir(self) -> Path:
        return self.artifacts_dir / "plots"

    @property
    def results_dir(self) -> Path:
        return self.root / "results"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def stage_dir(self, stage: str) -> Path:
        """Files a stage produces (augmented videos, scaled videos, ...)."""
        return self.root / "stages" / stage

    def table(self, name: str) -> Path:
        return self.tables_dir / f"{name}.parquet"

    def read(self, name: str) -> "pd.DataFrame":
        return read_table(self.table(name))

    def write(self, name: str, df: "pd.DataFrame") -> Path:
        return write_table(df, self.table(name))

    def has(self, name: str) -> bool:
        return self.table(name).exists()

    def fingerprints(self, names: "list[str] | tuple[str, ...]") -> dict[str, str]:
        """``{table: short sha256 of its bytes}`` (``missing`` for an absent table), in name order."""
        import hashlib

        out = {}
        for name in sorted(set(names)):
            path = self.table(name)
            if not path.exists():
                out[name] = "missing"
                continue
            h = hashlib.sha256()
            with path.open("rb") as fh:
                while block := fh.read(1 << 20):
                    h.update(block)
            out[name] = h.hexdigest()[:12]
        return out
