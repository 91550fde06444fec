"""fvc ablate --workers N: the (variant, fold) cells on the executors' cell grid give the serial table, exactly."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from fvc.cli import app
from fvc.config import FvcConfig
from fvc.experiment import ablation
from fvc.experiment.ablation import run_ablation
from fvc.orchestration import fold_grid
from test_ablation import MODEL, kinds_workspace


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    ws = kinds_workspace(tmp_path_factory.mktemp("serial") / "ws")
    return run_ablation(ws, MODEL)[0]


def test_two_workers_give_the_serial_table_exactly(tmp_path, serial):
    ws = kinds_workspace(tmp_path / "ws")
    r = CliRunner().invoke(app, ["ablate", "-w", str(ws.root), "--model", MODEL, "--workers", "2"])
    assert r.exit_code == 0, r.output
    pd.testing.assert_frame_equal(ws.read("ablation"), serial, check_exact=True)


def test_a_rerun_after_a_kill_computes_only_the_unfinished_cells(tmp_path, serial):
    ws = kinds_workspace(tmp_path / "ws")
    pool = fold_grid.map_here  # resuming is the planner's; the two-worker test covers the pool
    asked: list[list[tuple[str, int]]] = []

    def killed(ws_, cfg, cells):  # the run dies once the first variant's cells are saved
        asked.append([(c.ablation, c.fold) for c in cells])
        pool(ws_, cfg, [c for c in cells if c.ablation == "all"])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fold_grid.ablate(ws, FvcConfig(), MODEL, killed)
    assert not ws.has("ablation")

    def resumed(ws_, cfg, cells):
        asked.append([(c.ablation, c.fold) for c in cells])
        pool(ws_, cfg, cells)

    table, _ = fold_grid.ablate(ws, FvcConfig(), MODEL, resumed)
    first, second = asked
    assert {v for v, _ in first} == set(serial["variant"]) and len(first) == 35
    assert sorted(second) == sorted(c for c in first if c[0] != "all")  # the finished variant is not redone
    pd.testing.assert_frame_equal(table, serial, check_exact=True)


def test_an_executor_that_leaves_cells_undone_stops_the_run(tmp_path):
    ws = kinds_workspace(tmp_path / "ws")

    def lazy(ws_, cfg, cells):  # says it ran the cells, computes none
        pass

    with pytest.raises(RuntimeError, match="left 35 cell"):
        fold_grid.ablate(ws, FvcConfig(), MODEL, lazy)


def test_a_cell_names_its_variant():
    assert ablation.Variant.parse("without lnoise") == ablation.Variant("without", "lnoise")
    assert ablation.Variant.parse("all").name == "all"
    with pytest.raises(ValueError):
        ablation.Variant.parse("only nothing")


@pytest.mark.slow
def test_ray_tasks_give_the_serial_table_exactly(tmp_path, serial):
    pytest.importorskip("ray")
    from fvc.orchestration.ray_executor import RayExecutor

    ws = kinds_workspace(tmp_path / "ws")
    runner = RayExecutor(num_cpus=2)
    try:
        table, _ = fold_grid.ablate(ws, FvcConfig(), MODEL, fold_grid.cell_mapper(runner, 2))
    finally:
        import ray

        ray.shutdown()
    pd.testing.assert_frame_equal(table, serial, check_exact=True)
