"""Where every artifact lives, atomic writes so a crash never leaves half a file,
content keys stored with each table, and the workspace lock."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import StorageError, WorkspaceBusyError

if TYPE_CHECKING:  # pandas is imported where tables are touched, keeping `fvc --help` fast
    import pandas as pd

DEFAULT_WORKSPACE = "fvc-workspace"
LOCK_FILE = ".fvc.lock"
ENV_WORKSPACE = "FVC_WORKSPACE"
_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only on success.

    An OS error about the storage (disk full, read-only, no permission)
    becomes one StorageError naming ``path``; the temporary file is removed, so
    nothing half-written is ever left under the final name.
    """
    path = Path(path)
    tmp_path = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results should read like any other file
        yield tmp_path
        os.replace(tmp_path, path)
    except OSError as exc:
        code = storage_errno(exc)
        named = Path(exc.filename) if isinstance(exc.filename, str) else None
        ours = named is None or named.parent == path.parent or named in path.parents  # not, e.g., a source read
        if code is None or not ours:  # not about this storage (a file where a folder must go): the caller words it
            raise
        raise StorageError(path, OSError(code, os.strerror(code))) from exc
    finally:
        if tmp_path is not None:
            with contextlib.suppress(OSError):
                tmp_path.unlink()


# errno values that blame the place a file is written, never the data written.
STORAGE_ERRNOS = frozenset({28, 122, 30, 13, 1, 5})  # ENOSPC, EDQUOT, EROFS, EACCES, EPERM, EIO


def storage_error(exc: BaseException) -> OSError | None:
    """The OSError in ``exc``'s chain (cause or context) that is about storage, if any."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and storage_errno(cur) is not None:
            return cur
        cur = cur.__cause__ or cur.__context__
    return None


def storage_errno(exc: OSError) -> int | None:
    """``exc.errno`` when it is a storage errno (pyarrow sometimes gives it only in the text)."""
    if exc.errno in STORAGE_ERRNOS:
        return exc.errno
    text = str(exc)
    for code in STORAGE_ERRNOS:
        if f"[Errno {code}]" in text or (exc.errno is None and os.strerror(code) in text):
            return code
    return None


def atomic_write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


CONTENT_KEY = b"fvc.content"  # Parquet footer key: the content key of the table
STAGE_KEY = b"fvc.stage"  # Parquet footer key: the freshness record of the stage that wrote it


def content_key(df: "pd.DataFrame") -> str:
    """Key of a table's column names and values (not its bytes, dtypes or row order of writing).

    Two writes of the same content give the same key, so rewriting an
    unchanged table never makes the stages that read it stale.
    """
    import pandas as pd

    h = hashlib.sha256(json.dumps([str(c) for c in df.columns]).encode())
    h.update(str(len(df)).encode())
    for col in df.columns:
        values = df[col]
        try:
            hashed = pd.util.hash_pandas_object(values, index=False)
        except TypeError:  # cells pandas cannot hash (dicts, lists): by their text
            hashed = pd.util.hash_pandas_object(values.map(lambda v: json.dumps(v, sort_keys=True, default=str)),
                                                index=False)
        h.update(hashed.to_numpy().tobytes())
    return h.hexdigest()[:12]


def write_table(df: "pd.DataFrame", path: str | Path, stage: dict[str, Any] | None = None) -> Path:
    """Write a DataFrame as Parquet atomically, its content key (and a stage's record) in the footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[CONTENT_KEY] = content_key(df).encode()
    if stage is not None:
        meta[STAGE_KEY] = json.dumps(stage, sort_keys=True).encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return Path(path)


def table_footer(path: str | Path) -> dict[bytes, bytes] | None:
    """The fvc keys of a Parquet table's footer (no data read); None when unreadable."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):  # pyarrow raises ArrowInvalid (a ValueError) for a torn file
        return None
    return {k: v for k, v in meta.items() if k in (CONTENT_KEY, STAGE_KEY)}


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
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(d, exc) from exc
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

    def write(self, name: str, df: "pd.DataFrame", stage: dict[str, Any] | None = None) -> Path:
        return write_table(df, self.table(name), stage)

    def has(self, name: str) -> bool:
        return self.table(name).exists()

    def content_key(self, name: str) -> str:
        """The content key of a table (``missing`` when absent), read from its footer.

        A table written before content keys existed, or by another tool, is
        read once and keyed from its content.
        """
        path = self.table(name)
        if not path.exists():
            return "missing"
        footer = table_footer(path)
        if footer and CONTENT_KEY in footer:
            return footer[CONTENT_KEY].decode()
        return content_key(read_table(path))

    def stage_record(self, name: str) -> dict[str, Any] | None:
        """The freshness record the stage that wrote table ``name`` left in its footer, if any."""
        path = self.table(name)
        footer = table_footer(path) if path.exists() else None
        if not footer or STAGE_KEY not in footer:
            return None
        return json.loads(footer[STAGE_KEY])

    def fingerprints(self, names: "list[str] | tuple[str, ...]") -> dict[str, str]:
        """``{table: content key}`` (``missing`` for an absent table), in name order."""
        return {name: self.content_key(name) for name in sorted(set(names))}

    # -- the workspace lock ---------------------------------------------------
    @property
    def lock_path(self) -> Path:
        return self.root / LOCK_FILE

    @contextlib.contextmanager
    def lock(self, command: str, wait: bool = False,
             on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the workspace alone while ``command`` writes it (setup, tables, stages).

        An ``flock`` on ``.fvc.lock``: the kernel releases it when the holder
        exits, even on ``kill -9``, so a lock is never stale. When another
        process holds it: WorkspaceBusyError naming its pid and command, or,
        with ``wait``, ``on_wait(holder)`` and block until it is free.
        """
        import fcntl

        created = not self.root.exists()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(self.root, exc) from exc
        while True:
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
            except OSError as exc:
                raise StorageError(self.lock_path, exc) from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _lock_holder(self.lock_path)
                if not wait:
                    os.close(fd)
                    raise WorkspaceBusyError(f"{self.root}: workspace in use by {holder}; "
                                             "wait for it to finish or pass --wait") from None
                if on_wait:
                    on_wait(holder)
                fcntl.flock(fd, fcntl.LOCK_EX)
            # The holder before us may have removed the file (a new, empty workspace): lock the live one.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.lock_path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} ({command})\n".encode())
        except OSError as exc:
            os.close(fd)
            raise StorageError(self.lock_path, exc) from exc
        try:
            yield
        finally:
            # A workspace this lock created and nothing else filled goes away with it.
            if created and {p.name for p in self.root.iterdir()} == {LOCK_FILE}:
                self.lock_path.unlink()
                with contextlib.suppress(OSError):
                    self.root.rmdir()
            else:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
            os.close(fd)


def _lock_holder(path: Path) -> str:
    """'pid N (command)' from the lock file; the holder writes it just after locking, so retry briefly."""
    import time

    for _ in range(20):
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError:
            text = ""
        if text:
            return text
        time.sleep(0.05)
    return "another fvc process (pid not recorded yet)"
