"""The compiled passes' extension module: built once per source, loaded without numba, calls checked."""

import importlib
import pkgutil
import shutil
import subprocess
import sys
import threading
from types import SimpleNamespace

import numpy as np
import pytest

import fvc.features
from fvc.errors import MissingDependencyError
from fvc.features import native, passes


def test_every_pass_is_in_a_module_the_extension_is_built_from():
    for m in pkgutil.iter_modules(fvc.features.__path__):
        if m.name != "native_build":
            importlib.import_module(f"fvc.features.{m.name}")
    homes = {c.fn.__module__.rsplit(".", 1)[-1] for c in native.REGISTRY}
    assert homes and homes <= set(native.MODULES)


def test_computing_features_loads_neither_numba_nor_llvm():
    """The stage's workers import the extension module only: no numba and its 100 MB of LLVM."""
    code = ("import sys; import numpy as np; import fvc.features.stage, fvc.features.extract as e; "
            "e.feature_names(); row = e.frame_features(np.zeros((48, 64), np.uint8)); assert np.isfinite(row).all(); "
            "loaded = [m for m in ('numba', 'llvmlite') if m in sys.modules]; assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_argument_of_another_type_is_a_type_error():
    """The module's own wrapper would read a float frame as bytes; the call is checked against the signature."""
    g = np.zeros((16, 24), np.uint8)
    assert passes.full_pass(g, g)[0][passes.GREY_SUM] == 0
    for bad in (g.astype(np.float32), g[:, ::2], g[None]):
        with pytest.raises(TypeError, match="full_pass: argument 0 does not fit"):
            passes.full_pass(bad, g)
    with pytest.raises(TypeError, match="half_pass: argument 1"):
        passes.half_pass(g, 2.5)
    with pytest.raises(TypeError, match="takes 2 arguments"):
        passes.half_pass(g)


def test_the_build_key_follows_the_sources(monkeypatch, tmp_path):
    monkeypatch.setattr(native, "_HERE", tmp_path)
    for name in (*native.MODULES, "native", "native_build"):
        shutil.copy(native.Path(native.__file__).with_name(f"{name}.py"), tmp_path)
    before = native.build_key()
    assert native.build_key() == before
    (tmp_path / "dct.py").write_text((tmp_path / "dct.py").read_text() + "\n# edited\n")
    assert native.build_key() != before


def test_building_without_numba_is_an_error_that_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setenv(native.ENV, str(tmp_path))  # an empty cache: the passes must be built
    monkeypatch.setitem(sys.modules, "numba", None)  # so find_spec finds no numba
    with pytest.raises(MissingDependencyError, match=r"needs numba.*pip install"):
        native.extension()


def test_parallel_first_calls_build_once(monkeypatch, tmp_path):
    """Workers that start together wait on the lock and load the one build."""
    builds = []

    def fake_build(argv, **kwargs):
        builds.append(argv)
        threading.Event().wait(0.3)  # long enough for the other caller to reach the lock
        (native.Path(argv[-1]) / "built").write_text("x")
        return subprocess.CompletedProcess(argv, 0, "", "")

    monkeypatch.setattr(native.subprocess, "run", fake_build)
    folder = tmp_path / "key"
    callers = [threading.Thread(target=native._build, args=(folder,)) for _ in range(3)]
    for t in callers:
        t.start()
    for t in callers:
        t.join()
    assert len(builds) == 1 and (folder / "built").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir() if p.is_dir()] == ["key"]  # no half-built folder left


def test_a_failed_build_says_what_it_needs_and_leaves_nothing(monkeypatch, tmp_path):
    monkeypatch.setattr(native.subprocess, "run", lambda argv, **kw: subprocess.CompletedProcess(
        argv, 1, "", "Traceback ...\ndistutils.errors.CompileError: command '/no/cc' failed: No such file\n"))
    with pytest.raises(MissingDependencyError, match=r"failed \(distutils.*No such file; log: .*key.build.log\); "
                                                     r".*C compiler"):
        native._build(tmp_path / "key")
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]
    assert "Traceback" in (tmp_path / "key.build.log").read_text()


@pytest.mark.parametrize("flags, cpu", [
    ("+avx2,+fma,+bmi2,+f16c,+movbe,+lzcnt,+avx512f,+avx512bw", "x86-64-v3"),
    ("+avx2,+fma,+bmi2,+f16c,+movbe,+lzcnt,-avx512f", "host"),
    ("+sse4.2,-avx2,+avx512f", "host"),
])
def test_a_cpu_with_avx512_is_built_for_avx2(monkeypatch, flags, cpu):
    import llvmlite.binding

    from fvc.features import native_build

    # LLVM's feature map, as far as target_cpu reads it
    monkeypatch.setattr(llvmlite.binding, "get_host_cpu_features", lambda: SimpleNamespace(flatten=lambda: flags))
    assert native_build.target_cpu() == cpu


def test_the_built_passes_use_no_512_bit_vectors():
    """On a CPU with AVX-512 the module is built for AVX2: no zmm register in its machine code."""
    import llvmlite.binding

    if "+avx512f" not in llvmlite.binding.get_host_cpu_features().flatten().split(","):
        pytest.skip("this CPU has no AVX-512")
    if shutil.which("objdump") is None:
        pytest.skip("objdump (binutils) is not installed")
    module, _ = native.extension()
    code = subprocess.run(["objdump", "-d", module.__file__], check=True, capture_output=True, text=True).stdout
    assert "ymm" in code and "zmm" not in code
