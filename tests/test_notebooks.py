"""The notebooks: generated from the catalog, committed without outputs, executed on one small workspace.

The master notebook builds that workspace (synth -> fvc run -> promote); every
model notebook then runs against it, one after another on one xdist worker while
the rest of the suite uses the other.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import nbformat
import papermill
import pytest

from fvc.models import catalog, get_model, list_models

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
# Small enough for CI: 30 videos of 144p, 2 s; one augmented copy; letterbox to 64; one feature model.
MASTER_PARAMS = {"train": True, "videos": 30, "max_height": 144, "max_duration": 2.0, "per_video": 1, "size": 64,
                 "models": "5a", "deep_model": ""}
FEATURE_TRAINED = "5a"  # trained by the master notebook's fvc run
TRAINED_HERE = "5c"  # trained from its own notebook (train = True), at its smoke preset


def _generator():
    spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "scripts" / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def execute(name: str, out: Path, **params) -> nbformat.NotebookNode:
    papermill.execute_notebook(NOTEBOOKS / name, out, parameters=params, cwd=NOTEBOOKS, kernel_name="python3",
                               progress_bar=False, log_output=False)
    return nbformat.read(out, as_version=4)


def texts(nb: nbformat.NotebookNode) -> str:
    """Every printed line and plain-text display of an executed notebook."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
            assert out["output_type"] != "error", f"{out['ename']}: {out['evalue']}"
    return "\n".join(parts)


def images(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))


# -- generated and committed --------------------------------------------------
def test_committed_notebooks_are_what_the_generator_writes_now():
    assert _generator().differences() == [], "run: python scripts/make_notebooks.py"


def test_one_notebook_per_catalog_model_committed_without_outputs():
    gen = _generator()
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    expected = sorted(["00_master_pipeline.ipynb", *(gen.notebook_name(e) for e in list_models())])
    assert names == expected
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(c.outputs == [] and c.execution_count is None for c in code), path.name
        assert [c for c in code if "parameters" in c.metadata.get("tags", [])], f"{path.name}: no parameters cell"


def test_model_notebook_narrative_comes_from_catalog_and_family_text():
    gen = _generator()
    entry = get_model("5d")
    nb = gen.model_notebook(entry)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert entry.summary in md and entry.paper in md and "33,371,472" in md  # published R3D-18 size
    family_text = (NOTEBOOKS / "text" / "deep.md").read_text(encoding="utf-8")
    assert gen.sections(NOTEBOOKS / "text" / "deep.md")["Architecture"] in md
    assert "AdamW" in family_text and "AdamW" in md


def test_a_model_added_to_the_catalog_gets_its_notebook(monkeypatch):
    new = replace(get_model("5a"), id="5z", name="Tiny Probe (v2)", summary="a probe added later", aliases=())
    monkeypatch.setitem(catalog._CATALOG, "5z", new)
    rendered = _generator().render()
    assert "5z_tiny-probe-v2.ipynb" in rendered
    assert "a probe added later" in rendered["5z_tiny-probe-v2.ipynb"]
    assert "5z_tiny-probe-v2.ipynb" in rendered["00_master_pipeline.ipynb"]  # listed in the master's last section


def test_check_mode_names_a_stale_notebook(tmp_path, monkeypatch):
    gen = _generator()
    for name, text in gen.render().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert gen.differences(tmp_path) == []
    stale = tmp_path / "5a_logreg.ipynb"
    stale.write_text(stale.read_text(encoding="utf-8").replace("Results", "Old results"), encoding="utf-8")
    (tmp_path / "9x_gone.ipynb").write_text("{}", encoding="utf-8")
    assert gen.differences(tmp_path) == [f"differs: {stale}", f"not generated: {tmp_path / '9x_gone.ipynb'}"]


# -- executed -------------------------------------------------------------------
def test_notebooks_execute_on_one_generated_workspace(tmp_path, subtests):
    """The master builds a small workspace end to end; every model notebook then runs on it.

    One test (a subtest per notebook) keeps the notebooks on one xdist worker, in order.
    """
    ws = tmp_path / "ws"
    with subtests.test(notebook="00_master_pipeline"):
        nb = execute("00_master_pipeline.ipynb", tmp_path / "master.ipynb", workspace=str(ws), **MASTER_PARAMS)
        out = texts(nb)
        assert "$ fvc synth" in out and "$ fvc run" in out and "$ fvc promote" in out
        assert "30 videos, " in out and "trained models: 5a" in out
        assert "MLflow runs in sqlite:" in out and "fvc-5a" in out
        assert "predict with 5a: " in out and "P(fake) = " in out
        assert images(nb) >= 5  # exploration plots, ROC, PR, folds
    if not (ws / "results" / FEATURE_TRAINED / "model.joblib").exists():
        pytest.fail("the master notebook did not build the workspace; the model notebooks need it")
    gen = _generator()
    for entry in list_models():
        with subtests.test(notebook=entry.id):
            nb = execute(gen.notebook_name(entry), tmp_path / f"{entry.id}.ipynb", workspace=str(ws),
                         train=entry.id == TRAINED_HERE)
            check_model_notebook(entry, texts(nb), images(nb), ws)


def check_model_notebook(entry, out: str, n_images: int, ws: Path) -> None:
    if entry.family == "deep":
        assert f"{entry.name}: " in out and " parameters" in out
    elif entry.family == "ensemble":
        assert "members: " in out
    else:
        assert "search grid:" in out
        if entry.family == "embedding":
            assert f"backbone: {entry.data.backbone} " in out
    if entry.id in (FEATURE_TRAINED, TRAINED_HERE):
        card = "model.joblib" if entry.family == "features" else "model.pt"
        assert f"model file verified: results/{entry.id}/{card}" in out
        assert f"registered: fvc-{entry.id} v1" in out
        assert f"MLflow runs for {entry.id}" in out
        assert "predict: " in out and "P(fake) = " in out
        assert n_images == 5  # ROC, PR, confusion, folds, sample frames
    else:
        assert f"no results for model {entry.id} in {ws}" in out
        assert n_images == 0
