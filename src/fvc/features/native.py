"""The per-frame passes as machine code: an extension module built ahead of time, imported without numba.

A family that chains filters and reductions through OpenCV or NumPy walks the
frame once per call and pays a few microseconds of dispatch per call; on the
small frames of user-generated video the dispatch outweighs the arithmetic, and
on large ones the repeated walks through memory do. A compiled pass reads each
pixel once and keeps what it derives in registers.

The passes are plain Python functions marked ``@compiled(signature)``. numba
compiles them ahead of time (``native_build``, run in a child process) into one
extension module, cached per source, numba version, Python and CPU under
``$FVC_NATIVE_DIR`` (default ``~/.cache/fvc/native``). A process that calls a
pass imports that module: a few MB and a few milliseconds, where a JIT would
keep LLVM (over 100 MB resident) in every worker and spend most of a second
loading. The first call ever builds it (numba and a C compiler, about 20 s,
once), under a lock, so parallel workers build it once.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import operator
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import MissingDependencyError, StorageError

# the feature modules that hold passes: the extension is built from (and keyed by) exactly these
MODULES = ("passes", "dct", "temporal", "blockmap", "motion", "discontinuity", "noise", "local_noise", "local_texture", "summary")
EXTENSION = "fvc_features_native"
SIGNATURES = "signatures.json"
ENV = "FVC_NATIVE_DIR"
_HERE = Path(__file__).resolve().parent


class Compiled:
    """A pass of the extension module, called like the Python function it was built from.

    The signature is fixed at build time: an argument of another type is a TypeError, not a new compile.
    Without a signature the function is a helper compiled into the passes that call it, and has no entry
    of its own."""

    def __init__(self, fn: Callable, signature: str | None):
        self.fn, self.signature = fn, signature
        self.entry = f"{fn.__module__.rsplit('.', 1)[-1]}__{fn.__name__}"
        self.__doc__, self.__name__, self.__wrapped__ = fn.__doc__, fn.__name__, fn
        self._native: Callable | None = None
        self._checks: list[Callable[[Any], bool]] = []

    def __call__(self, *args: Any) -> Any:
        if self._native is None:
            self._load()
        if len(args) != len(self._checks) or not all(map(operator.call, self._checks, args)):
            self._refuse(args)
        return self._native(*args)

    def _load(self) -> None:
        if self.signature is None:
            raise TypeError(f"{self.__name__} is compiled into the passes that call it and has no entry")
        module, signatures = extension()
        self._checks = [_check(want) for want in signatures[self.entry]]
        self._native = getattr(module, self.entry)

    def _refuse(self, args: tuple) -> None:
        if len(args) != len(self._checks):
            raise TypeError(f"{self.__name__} takes {len(self._checks)} arguments ({self.signature}), got {len(args)}")
        k = next(k for k, (check, a) in enumerate(zip(self._checks, args)) if not check(a))
        a = args[k]
        raise TypeError(f"{self.__name__}: argument {k} does not fit {self.signature}: "
                        f"{type(a).__name__} {getattr(a, 'dtype', '')} {getattr(a, 'shape', '')}")


def _check(want: dict) -> Callable[[Any], bool]:
    """Whether an argument is what the entry's argument ``want`` (from ``native_build._argument``) takes: one
    test per call, 100-300 nanoseconds (a whole call takes a few microseconds), the common case
    first: the dtype singleton NumPy gives its arrays, a plain ``int`` or ``float``."""
    if "dtype" in want:
        dtype, ndim, contiguous = np.dtype(want["dtype"]), want["ndim"], want["contiguous"]
        if contiguous:
            return lambda a: (type(a) is np.ndarray and (a.dtype is dtype or a.dtype == dtype) and a.ndim == ndim
                              and a.flags.c_contiguous)
        return lambda a: type(a) is np.ndarray and (a.dtype is dtype or a.dtype == dtype) and a.ndim == ndim
    kind = want["scalar"]
    if kind == "bool":
        return lambda a: type(a) is bool or isinstance(a, np.bool_)
    if kind.startswith(("int", "uint")):
        return lambda a: type(a) is int or (isinstance(a, (int, np.integer)) and not isinstance(a, (bool, np.bool_)))
    return lambda a: (type(a) is float or type(a) is int
                      or (isinstance(a, (int, float, np.integer, np.floating)) and not isinstance(a, (bool, np.bool_))))


REGISTRY: list[Compiled] = []


def compiled(signature: str | None = None) -> Callable[[Callable], Compiled]:
    """Decorator: the function as a pass of the extension module, for ``signature`` (numba's notation)."""
    def wrap(fn: Callable) -> Compiled:
        c = Compiled(fn, signature)
        REGISTRY.append(c)
        return c
    return wrap


def cache_root() -> Path:
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fvc" / "native"


def build_key() -> str:
    """What the machine code depends on: the passes' sources and the build's, numba's version, Python, the CPU."""
    h = hashlib.sha256()
    for name in (*MODULES, "native", "native_build"):
        h.update((_HERE / f"{name}.py").read_bytes())
    try:
        h.update(importlib.metadata.version("numba").encode())
    except importlib.metadata.PackageNotFoundError:
        h.update(b"no numba")  # fine while the extension is built; building it says how to get numba
    h.update(f"{sys.implementation.cache_tag} {platform.machine()} {_cpu()}".encode())
    return h.hexdigest()[:16]


def _cpu() -> str:
    """The CPU model and its instruction-set flags (the code is built for this CPU)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    keep = [ln for ln in lines if ln.startswith(("model name", "flags", "Features", "CPU part"))]
    return "\n".join(dict.fromkeys(keep))


def extension() -> tuple[ModuleType, dict[str, list[dict]]]:
    """The extension module of the current sources and its entries' arguments: imported from the cache,
    built there first if missing. Once per process and cache folder (the key hashes the sources)."""
    root = cache_root()
    if root not in _LOADED:
        folder = root / build_key()
        path = folder / (EXTENSION + sysconfig.get_config_var("EXT_SUFFIX"))
        if not path.exists():
            _build(folder)
        loader = importlib.machinery.ExtensionFileLoader(EXTENSION, str(path))
        module = importlib.util.module_from_spec(importlib.util.spec_from_file_location(EXTENSION, path,
                                                                                        loader=loader))
        loader.exec_module(module)
        _LOADED[root] = module, json.loads((folder / SIGNATURES).read_text())
    return _LOADED[root]


_LOADED: dict[Path, tuple[ModuleType, dict[str, list[dict]]]] = {}


def _build(folder: Path) -> None:
    """Build the extension into ``folder`` in a child process (so this one never loads numba), once."""
    if importlib.util.find_spec("numba") is None:
        raise MissingDependencyError("building the compiled feature passes needs numba, a core dependency: "
                                     "reinstall with pip install -e . (or pip install 'numba>=0.60')")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with open(folder.parent / f"{folder.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another process building it: wait, then use its build
            if folder.exists():
                return
            tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
            try:
                env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_HERE.parents[1]),
                                                                    os.environ.get("PYTHONPATH", "")])}
                done = subprocess.run([sys.executable, "-m", "fvc.features.native_build", str(tmp)],
                                      capture_output=True, text=True, env=env)
                if done.returncode:
                    log = folder.parent / f"{folder.name}.build.log"
                    log.write_text(done.stdout + done.stderr)
                    last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                    raise MissingDependencyError(f"building the compiled feature passes failed ({last}; log: {log}); "
                                                 "it needs numba and a C compiler (Debian: apt install gcc)")
                os.rename(tmp, folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        raise StorageError(folder, exc) from exc
