"""Build the passes' extension module with numba's ahead-of-time compiler: ``python -m fvc.features.native_build DIR``.

Run by ``native.extension`` in a child process when the cache has no build of
the current sources. Every ``@compiled`` function of ``native.MODULES`` is
compiled with numba; those with a signature become entries of the module
(``<module>__<name>``), the others are compiled into their callers. The code
is built for this CPU (on a CPU with AVX-512, for its AVX2 subset: see
``target_cpu``), with the GIL released while a pass runs, and with
fastmath limited to reassociation, contraction and ignoring the sign of zero
(LLVM vectorises the float sums; each keeps a fixed order for a given CPU, so
a frame's values do not depend on where its buffers lie; NaN and infinity
keep their meaning).
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
import warnings
from pathlib import Path

FASTMATH = {"reassoc", "contract", "nsz"}
# x86-64 CPUs with these are built for LLVM's x86-64-v3 (AVX2 and FMA, 256-bit vectors) rather than themselves
_AVX2 = ("+avx2", "+fma", "+bmi2", "+f16c", "+movbe", "+lzcnt")


def target_cpu() -> str:
    """The CPU that LLVM builds the passes for: this one (``host``), except where it has AVX-512.

    For such a CPU (a Skylake-SP Xeon here) LLVM uses 512-bit vectors in the passes, and they ran slower:
    alone, ``full_pass``, ``half_pass`` and the DCT took 8-19% less time built for AVX2 (LLVM's
    ``x86-64-v3``). On the whole demo corpus the gain is within the machine's noise: 0.02-0.05x less of the
    decode floor in one comparison of three rounds, 0.01x (medians 1.37x and 1.36x) in another.
    """
    import llvmlite.binding as ll

    features = ll.get_host_cpu_features().flatten().split(",")
    if "+avx512f" in features and all(f in features for f in _AVX2):
        return "x86-64-v3"
    return "host"


def build(out_dir: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba.pycc's pending-deprecation notice
        import numba
        from numba.core import cpu, sigutils
        from numba.pycc import CC, compiler

    from . import native

    modules = [importlib.import_module(f"{__package__}.{name}") for name in native.MODULES]
    options = dict(fastmath=FASTMATH, error_model="numpy", boundscheck=False)
    jitted = {id(c): numba.njit(**options)(c.fn) for c in native.REGISTRY}
    for module in modules:  # numba finds a callee by its name in the caller's module: the compiled one there
        for name, value in list(vars(module).items()):
            if id(value) in jitted:
                setattr(module, name, jitted[id(value)])

    class Flags(compiler.Flags):
        """The entries' own code compiled like their callees, and run without the GIL."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.release_gil = True
            self.fastmath = cpu.FastMathOptions(FASTMATH)
            self.error_model = "numpy"

    compiler.Flags = Flags
    cc = CC(native.EXTENSION)
    cc.output_dir = str(out_dir)
    cc.target_cpu = target_cpu()
    cc.verbose = False
    for c in native.REGISTRY:
        if c.signature:
            cc.export(c.entry, c.signature)(c.fn)
    cc.compile()
    (out_dir / native.SIGNATURES).write_text(json.dumps(
        {c.entry: [_argument(t) for t in sigutils.normalize_signature(c.signature)[0]]
         for c in native.REGISTRY if c.signature}, indent=1))
    return out_dir


def _argument(t) -> dict:
    """What an entry's argument must be: the wrapper numba generates trusts the caller (a float array given
    for a uint8 one is read as bytes), so ``native.Compiled`` checks each call against this."""
    from numba import types
    from numba.np.numpy_support import as_dtype

    if isinstance(t, types.Array):
        return {"dtype": as_dtype(t.dtype).str, "ndim": t.ndim, "contiguous": t.layout == "C"}
    return {"scalar": str(t)}


if __name__ == "__main__":
    try:
        build(Path(sys.argv[1]))
    except Exception as exc:  # the whole traceback for the log, then one line for the caller's message
        traceback.print_exc()
        print(f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}", file=sys.stderr)
        sys.exit(1)
