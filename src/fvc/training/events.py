"""Training-run events: one observer protocol for every trainer.

The CV loop (feature models) and the torch trainer (deep models) emit the same
events; tracking back ends (MLflow, a JSONL experiment log, the console)
subscribe to them. Trainers therefore never import a tracking library, and a
run without any observer behaves exactly the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


class TrainObserver:
    """Base class: subclass and override the events you care about.

    Every method has a do-nothing default on purpose: an observer that only
    cares about fold metrics should not have to implement epoch events.

    Arguments:
      - ``run_config``: the run's ``RunConfig`` (``.hash()``, ``.model_dump()``).
      - ``data_fingerprint``: short hash of the tables the run read; ``tables`` has one hash per table.
      - ``metrics``: flat ``{name: float}`` dicts (see ``fvc.training.metrics``).
      - ``artifacts``: ``{name: Path}`` of files written so far.
      - ``summary``: the ``metrics.json`` payload of the run.
    """

    def on_run_start(self, model_id: str, run_config: Any, data_fingerprint: str,
                     tables: Mapping[str, str] | None = None) -> None:
        """A model's CV run begins (before fold 0)."""

    def on_fold_start(self, fold: int) -> None:
        """Training on all folds but ``fold`` begins."""

    def on_epoch_end(self, fold: int, epoch: int, metrics: Mapping[str, float]) -> None:
        """An epoch ended (deep models only; feature models have no epochs)."""

    def on_search_point(self, fold: int, params: Mapping[str, Any], score: float) -> None:
        """One hyper-parameter grid point was scored by inner CV on the training folds."""

    def on_fold_end(self, fold: int, metrics: Mapping[str, float], artifacts: Mapping[str, Path]) -> None:
        """The model of ``fold`` was scored on that fold."""

    def on_run_end(
        self, summary: Mapping[str, Any], final_model_path: Path | None, artifacts: Mapping[str, Path]
    ) -> None:
        """All folds done, results written and the final model refitted on all data."""

    def on_run_error(self, model_id: str, error: BaseException) -> None:
        """The run stopped with an exception (the exception is re-raised after this)."""


class CompositeObserver(TrainObserver):
    """Fans every event out to several observers, in order."""

    def __init__(self, observers: Iterable[TrainObserver] = ()):
        self.observers: list[TrainObserver] = []
        for obs in observers:
            self.add(obs)

    def add(self, observer: TrainObserver) -> None:
        if isinstance(observer, CompositeObserver):
            self.observers.extend(observer.observers)
        else:
            self.observers.append(observer)

    def on_run_start(self, model_id, run_config, data_fingerprint, tables=None):
        for o in self.observers:
            o.on_run_start(model_id, run_config, data_fingerprint, tables)

    def on_fold_start(self, fold):
        for o in self.observers:
            o.on_fold_start(fold)

    def on_epoch_end(self, fold, epoch, metrics):
        for o in self.observers:
            o.on_epoch_end(fold, epoch, metrics)

    def on_search_point(self, fold, params, score):
        for o in self.observers:
            o.on_search_point(fold, params, score)

    def on_fold_end(self, fold, metrics, artifacts):
        for o in self.observers:
            o.on_fold_end(fold, metrics, artifacts)

    def on_run_end(self, summary, final_model_path, artifacts):
        for o in self.observers:
            o.on_run_end(summary, final_model_path, artifacts)

    def on_run_error(self, model_id, error):
        for o in self.observers:
            o.on_run_error(model_id, error)


class RecordingObserver(TrainObserver):
    """Keeps every event as ``(name, kwargs)``: for tests and for debugging a trainer."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def on_run_start(self, model_id, run_config, data_fingerprint, tables=None):
        self.events.append(("run_start", {"model_id": model_id, "run_config": run_config,
                                          "data_fingerprint": data_fingerprint, "tables": dict(tables or {})}))

    def on_fold_start(self, fold):
        self.events.append(("fold_start", {"fold": fold}))

    def on_epoch_end(self, fold, epoch, metrics):
        self.events.append(("epoch_end", {"fold": fold, "epoch": epoch, "metrics": dict(metrics)}))

    def on_search_point(self, fold, params, score):
        self.events.append(("search_point", {"fold": fold, "params": dict(params), "score": score}))

    def on_fold_end(self, fold, metrics, artifacts):
        self.events.append(("fold_end", {"fold": fold, "metrics": dict(metrics), "artifacts": dict(artifacts)}))

    def on_run_end(self, summary, final_model_path, artifacts):
        self.events.append(("run_end", {"summary": dict(summary), "final_model_path": final_model_path,
                                        "artifacts": dict(artifacts)}))

    def on_run_error(self, model_id, error):
        self.events.append(("run_error", {"model_id": model_id, "error": error}))


class ConsoleObserver(TrainObserver):
    """Prints one line per fold and per run (what ``fvc train`` shows)."""

    def __init__(self, console: Any = None):
        if console is None:
            import sys

            from rich.console import Console

            console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())  # a log keeps each line whole
        self.console = console
        self.model_id = ""

    def on_run_start(self, model_id, run_config, data_fingerprint, tables=None):
        self.model_id = model_id
        self.console.print(f"[bold]{model_id}[/] ({run_config.preset}): config {run_config.hash()}, "
                           f"data {data_fingerprint}")

    def on_fold_end(self, fold, metrics, artifacts):
        auc = metrics.get("roc_auc")
        acc = metrics.get("accuracy")
        self.console.print(f"  {self.model_id} fold {fold}: roc_auc={_f(auc)} accuracy={_f(acc)} n={metrics.get('n')}")

    def on_run_end(self, summary, final_model_path, artifacts):
        mean = summary.get("mean", {})
        std = summary.get("std", {})
        self.console.print(
            f"  {self.model_id}: roc_auc {_f(mean.get('roc_auc'))} +- {_f(std.get('roc_auc'))}"
            f" (final model: {final_model_path})"
        )


def _f(v: Any) -> str:
    return "nan" if v is None else f"{float(v):.3f}"
