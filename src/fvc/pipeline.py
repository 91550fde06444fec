"""``fvc run`` and ``fvc status`` over the declared stage graph.

Each stage declares its inputs, output, config sections and version next to
its code (:class:`fvc.stages.Stage`); the order, ``--from``/``--to`` and
freshness derive from those declarations. A stage runs only when its output
is missing or stale (or holds failed rows to retry); a per-video stage then
redoes only the rows whose own key changed. Training keeps its own fold-level
resume; it is up to date when each model's ``metrics.json`` was made from the
same run config and the same input content keys.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .augment.stage import AUGMENT
from .config import FvcConfig, stable_hash
from .data.index import INDEX
from .data.setup import SETUP
from .data.splits import SPLITS
from .errors import FvcError, InputError
from .features.stage import FEATURES2, FEATURES4
from .scale.stage import SCALE
from .stages import (MISSING, STALE, UP_TO_DATE, Executor, Freshness, Stage, StageSummary, order, upstream,
                     use_executor)
from .workspace import Workspace

# Training is declared here: its inputs depend on the model (feature tables or scaled videos).
TRAIN = Stage("train", output="results", inputs=("features_stage2", "features_stage4", "scaled", "splits"))
GRAPH = order([SETUP, INDEX, SPLITS, AUGMENT, FEATURES2, SCALE, FEATURES4, TRAIN])
BY_NAME = {s.name: s for s in GRAPH}
STAGES = tuple(s.name for s in GRAPH)


class PipelineExecutor(Executor, Protocol):
    """An executor for the whole run: per-video rows (``map``) and the model x fold grid (``train``)."""

    def train(self, ws: Workspace, cfg: FvcConfig, rcs: list[Any], observers: list[Any]) -> list[Any]:
        """Cross-validate every run config (folds anywhere), returning their ``CVResult``s in order."""


@dataclass
class RunOptions:
    archives: Path | None = None
    password: str | None = None
    models: str = "all"
    tracking: bool = True
    workers: int = 1
    retry_failed: bool = True
    executor: PipelineExecutor | None = None  # None: this machine (a pool of ``workers``)


@dataclass
class StageResult:
    stage: str
    status: str  # ran, up to date, not selected, not reached, failed
    done: int = 0
    skipped: int = 0
    failed: int = 0
    retried: int = 0
    seconds: float = 0.0
    note: str = ""

    def as_row(self) -> dict[str, Any]:
        return {"stage": self.stage, "status": self.status, "done": self.done, "skipped": self.skipped,
                "failed": self.failed, "retried": self.retried, "seconds": round(self.seconds, 1),
                "note": self.note}


@dataclass
class PipelineReport:
    results: list[StageResult] = field(default_factory=list)
    error: str | None = None
    failure: FvcError | None = None  # the stopping error itself (its kind decides whether a retry can help)

    def rows(self) -> list[dict[str, Any]]:
        return [r.as_row() for r in self.results]


def stage_range(start: str | None, stop: str | None) -> list[str]:
    """Stages from ``start`` to ``stop`` inclusive, in graph order, validated."""
    for opt, name in (("--from", start), ("--to", stop)):
        if name is not None and name not in STAGES:
            raise InputError(opt, f"unknown stage '{name}'; stages are {', '.join(STAGES)}")
    i = STAGES.index(start) if start else 0
    j = STAGES.index(stop) if stop else len(STAGES) - 1
    if i > j:
        raise InputError("--from", f"stage '{start}' comes after --to '{stop}'")
    return list(STAGES[i : j + 1])


# -- freshness ---------------------------------------------------------------------------
def _train_plan(ws: Workspace, models: str) -> tuple[list[tuple[Any, Any, list[str]]], list[str]]:
    """(entry, run config, input tables) of each selected model whose tables exist, and the ids left out."""
    from .experiment import default_run_config
    from .experiment.feature_adapter import feature_tables
    from .models import resolve_models

    plan, missing = [], []
    for entry in resolve_models(models):
        if any(not ws.has(f"features_stage{k}") for k in entry.data.stages):
            missing.append(entry.id)
            continue
        rc = default_run_config(entry.id)
        tables = feature_tables(rc.feature_stages) if entry.family == "features" else ["scaled", "splits"]
        plan.append((entry, rc, tables))
    return plan, missing


def _model_freshness(ws: Workspace, model_id: str, rc: Any, tables: list[str]) -> tuple[str, str]:
    """A model's results against its run config and the content keys of its input tables."""
    from .experiment.result_files import METRICS_FILE, result_dir

    path = result_dir(ws, model_id) / METRICS_FILE
    if not path.exists():
        return MISSING, "not trained"
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return STALE, f"{path.name} unreadable"
    if metrics.get("config_hash") != rc.hash():
        return STALE, "run config changed"
    if metrics.get("data_fingerprint") != stable_hash(ws.fingerprints(tables)):
        return STALE, "input tables changed"
    return UP_TO_DATE, ""


def _train_freshness(ws: Workspace, models: str) -> Freshness:
    plan, missing = _train_plan(ws, models)
    if not plan:
        return Freshness(MISSING, [f"no feature tables for {models}"])
    states = {e.id: _model_freshness(ws, e.id, rc, t) for e, rc, t in plan}
    by_reason: dict[str, list[str]] = {}
    for model_id, (_, why) in states.items():
        if why:
            by_reason.setdefault(why, []).append(model_id)
    reasons = [f"{why}: {', '.join(ids)}" for why, ids in by_reason.items()]
    if all(s == MISSING for s, _ in states.values()):
        return Freshness(MISSING, reasons)
    return Freshness(STALE if reasons else UP_TO_DATE, reasons, rows=len(plan))


def freshness(ws: Workspace, cfg: FvcConfig, models: str = "all") -> dict[str, Freshness]:
    """Each stage's state in graph order; a stage whose upstream is stale or missing is stale too."""
    out: dict[str, Freshness] = {}
    for stage in GRAPH:
        own = _train_freshness(ws, models) if stage is TRAIN else stage.freshness(ws, cfg)
        behind = [u for u in upstream(list(GRAPH), stage.name) if out[u].state != UP_TO_DATE]
        if own.state == UP_TO_DATE and behind:
            own = Freshness(STALE, [f"upstream {', '.join(behind)} not up to date"], own.rows, own.failed)
        out[stage.name] = own
    return out


def status_rows(ws: Workspace, cfg: FvcConfig, models: str = "all") -> list[dict[str, Any]]:
    """One row per stage for ``fvc status``: state, rows, failed rows and why it is not up to date."""
    rows = []
    for name, f in freshness(ws, cfg, models).items():
        reason = "; ".join(f.reasons)
        if f.failed:
            reason = "; ".join(x for x in (reason, f"{f.failed} failed rows (retried by the next run)") if x)
        rows.append({"stage": name, "output": BY_NAME[name].output, "status": f.state,
                     "rows": f.rows, "failed": f.failed, "reason": reason})
    return rows


# -- one runner per stage ----------------------------------------------------------------
def _summary(stage: str, done: int = 0, skipped: int = 0, failed: int = 0) -> StageSummary:
    return StageSummary(stage=stage, done=done, skipped=skipped, failed=failed)


def _setup(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    from .data.setup import run_setup

    before = ws.content_key(SETUP.output)
    report = run_setup(ws, cfg, opts.archives, opts.password)
    # archive mode counts extracted members; folder mode references videos in place
    done = report.extracted if report.archives else report.videos
    if ws.content_key(SETUP.output) == before and not report.extracted:
        return _summary("setup", skipped=report.videos), f"{report.videos} videos matched, as before"
    return _summary("setup", done=done, skipped=report.skipped), f"{report.videos} videos matched"


def _index(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    from .data.index import run_index

    _, summary = run_index(ws, cfg, workers=max(2, opts.workers))
    return summary, ""


def _splits(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    from .data.splits import run_splits

    table = run_splits(ws, cfg)
    no_fold = int((table["fold"] < 0).sum())
    return _summary("splits", done=len(table)), f"{no_fold} without a fold"


def _augment(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    from .augment.stage import run_augment

    _, summary = run_augment(ws, cfg, workers=opts.workers, retry_failed=opts.retry_failed)
    return summary, f"{cfg.augment.per_video} per video"


def _features(stage: int) -> Callable[[Workspace, FvcConfig, RunOptions], tuple[StageSummary, str]]:
    def run(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
        from .features.stage import run_features

        return run_features(ws, cfg, stage=stage, workers=opts.workers, retry_failed=opts.retry_failed), ""

    return run


def _scale(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    from .scale.stage import run_scale

    _, summary = run_scale(ws, cfg, workers=opts.workers, retry_failed=opts.retry_failed)
    return summary, f"{cfg.scale.method} {cfg.scale.size}"


def _train(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    """Cross-validate the selected models whose results are missing or stale."""
    from .experiment import run_experiment
    from .experiment.observers import build_observers

    rcs, skipped, missing = train_configs(ws, opts.models)
    summary = _summary("train", skipped=skipped)
    if rcs:
        observers = build_observers(ws, tracking=opts.tracking)
        if opts.executor is not None:
            opts.executor.train(ws, cfg, rcs, observers)
        else:
            for rc in rcs:
                run_experiment(ws, cfg, rc, observers)
        summary.done += len(rcs)
    note = f"not run (no feature tables): {', '.join(missing)}" if missing else ""
    return summary, note


def train_configs(ws: Workspace, models: str) -> tuple[list[Any], int, list[str]]:
    """The run configs the train stage runs (selected models whose results are missing or stale),
    how many are up to date, and the ids left out for want of feature tables."""
    plan, missing = _train_plan(ws, models)
    if not plan:
        raise InputError("--models", f"'{models}' selects no model whose feature tables exist")
    todo = [rc for entry, rc, tables in plan if _model_freshness(ws, entry.id, rc, tables)[0] != UP_TO_DATE]
    return todo, len(plan) - len(todo), missing


RUNNERS: dict[str, Callable[[Workspace, FvcConfig, RunOptions], tuple[StageSummary, str]]] = {
    "setup": _setup, "index": _index, "splits": _splits, "augment": _augment,
    "features2": _features(2), "scale": _scale, "features4": _features(4), "train": _train,
}
assert set(RUNNERS) == set(STAGES), "every declared stage needs a runner"


def _skip(ws: Workspace, cfg: FvcConfig, stage: Stage, opts: RunOptions) -> StageResult | None:
    """The 'up to date' result when ``stage`` has nothing to do, else None (it must run)."""
    if stage is SETUP:
        if opts.archives is not None:
            return None  # its input lies outside the workspace: look at it again
        f = stage.freshness(ws, cfg)
        if f.state == MISSING:
            raise InputError("--archives", "needed to run stage 'setup' (no videos table yet); or start with --from index")
        if f.state == STALE:
            raise InputError("--archives", f"stage 'setup' is stale ({'; '.join(f.reasons)}); "
                             "pass --archives to re-run it, or start with --from index")
        return StageResult(stage.name, UP_TO_DATE, skipped=f.rows or 0, note="no --archives: kept the videos table")
    f = _train_freshness(ws, opts.models) if stage is TRAIN else stage.freshness(ws, cfg)
    if f.state != UP_TO_DATE or (f.failed and opts.retry_failed):
        return None
    rows = f.rows or 0
    return StageResult(stage.name, UP_TO_DATE, skipped=rows - f.failed, failed=f.failed)


def run_pipeline(
    ws: Workspace,
    cfg: FvcConfig,
    opts: RunOptions | None = None,
    start: str | None = None,
    stop: str | None = None,
    on_stage: Callable[[int, int, str], None] | None = None,
) -> PipelineReport:
    """Run the selected stages in graph order; stop at the first stage that raises.

    The report lists every stage (not-selected ones too) so the summary shows
    the whole pipeline; ``report.error`` holds the message of a stopping error.
    """
    opts = opts or RunOptions()
    chosen = stage_range(start, stop)
    with use_executor(opts.executor):
        return _run_stages(ws, cfg, opts, chosen, on_stage)


def _run_stages(ws: Workspace, cfg: FvcConfig, opts: RunOptions, chosen: list[str],
                on_stage: Callable[[int, int, str], None] | None) -> PipelineReport:
    report = PipelineReport()
    for k, name in enumerate(chosen, 1):
        if on_stage:
            on_stage(k, len(chosen), name)
        stage = BY_NAME[name]
        t0 = time.perf_counter()
        try:
            skipped = _skip(ws, cfg, stage, opts)
            if skipped is not None:
                skipped.seconds = time.perf_counter() - t0
                report.results.append(skipped)
                continue
            summary, note = RUNNERS[name](ws, cfg, opts)
        except FvcError as exc:
            report.results.append(StageResult(name, "failed", seconds=time.perf_counter() - t0, note=str(exc)))
            report.error, report.failure = f"stage '{name}': {exc}", exc
            break
        idle = summary.done == 0 and summary.failed == 0 and summary.retried == 0
        report.results.append(StageResult(name, UP_TO_DATE if idle else "ran", summary.done, summary.skipped,
                                          summary.failed, summary.retried, time.perf_counter() - t0, note))
    ran = {r.stage for r in report.results}
    report.results += [StageResult(s, "not selected" if s not in chosen else "not reached") for s in STAGES if s not in ran]
    rank = {s: i for i, s in enumerate(STAGES)}
    report.results.sort(key=lambda r: rank[r.stage])
    return report
