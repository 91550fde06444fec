"""``fvc run``: every stage in order, each resumable, with a summary of what was done.

Per-video stages (augment, features, scale) resume row by row on their own.
Whole-table stages (index, splits) and training have no row-level resume, so
the pipeline stamps each with a key of its config and input tables, and
skips it when the key is unchanged and its output is still there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import FvcConfig, stable_hash
from .errors import InputError
from .stages import StageSummary
from .workspace import Workspace, atomic_write_text

STAGES = ("setup", "index", "splits", "augment", "features2", "scale", "features4", "train")


@dataclass
class RunOptions:
    archives: Path | None = None
    password: str | None = None
    models: str = "all"
    tracking: bool = True


@dataclass
class StageResult:
    stage: str
    status: str  # ran, up to date, not selected, failed
    done: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    note: str = ""

    def as_row(self) -> dict[str, Any]:
        return {"stage": self.stage, "status": self.status, "done": self.done, "skipped": self.skipped,
                "failed": self.failed, "seconds": round(self.seconds, 1), "note": self.note}


@dataclass
class PipelineReport:
    results: list[StageResult] = field(default_factory=list)
    error: str | None = None

    def rows(self) -> list[dict[str, Any]]:
        return [r.as_row() for r in self.results]


def stage_range(start: str | None, stop: str | None) -> list[str]:
    """Stages from ``start`` to ``stop`` inclusive, validated."""
    for opt, name in (("--from", start), ("--to", stop)):
        if name is not None and name not in STAGES:
            raise InputError(opt, f"unknown stage '{name}'; stages are {', '.join(STAGES)}")
    i = STAGES.index(start) if start else 0
    j = STAGES.index(stop) if stop else len(STAGES) - 1
    if i > j:
        raise InputError("--from", f"stage '{start}' comes after --to '{stop}'")
    return list(STAGES[i : j + 1])


# -- stamps for stages without row-level resume -----------------------------------------
def _stamp_path(ws: Workspace) -> Path:
    return ws.cache_dir / "pipeline_stamps.json"


def _stamps(ws: Workspace) -> dict[str, str]:
    path = _stamp_path(ws)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _set_stamp(ws: Workspace, name: str, key: str) -> None:
    stamps = _stamps(ws)
    stamps[name] = key
    atomic_write_text(_stamp_path(ws), json.dumps(stamps, indent=1, sort_keys=True))


def table_key(ws: Workspace, tables: list[str], extra: Any = None) -> str:
    """Key of input tables (size and mtime) plus config: changes when an input is rewritten."""
    parts: dict[str, Any] = {"extra": extra}
    for name in tables:
        p = ws.table(name)
        parts[name] = [p.stat().st_size, p.stat().st_mtime_ns] if p.exists() else None
    return stable_hash(parts)


def _summary(stage: str, done: int = 0, skipped: int = 0, failed: int = 0) -> StageSummary:
    return StageSummary(stage=stage, done=done, skipped=skipped, failed=failed)


# -- one function per stage --------------------------------------------------------------
def _setup(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    from .data.setup import run_setup

    if opts.archives is None:
        if ws.has("videos"):
            n = len(ws.read("videos"))
            return _summary("setup", skipped=n), "no --archives: kept the existing videos table"
        raise InputError("--archives", "needed to run stage 'setup' (no videos table yet); or start with --from index")
    report = run_setup(ws, cfg, opts.archives, opts.password)
    # archive mode counts extracted members; folder mode references videos in place
    done = report.extracted if report.archives else report.videos
    return _summary("setup", done=done, skipped=report.skipped), f"{report.videos} videos matched"


def _index(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    from .data.index import run_index

    key = table_key(ws, ["videos"])
    if _stamps(ws).get("index") == key and ws.has("index"):
        return _summary("index", skipped=len(ws.read("index"))), "up to date"
    _, summary = run_index(ws, cfg)
    _set_stamp(ws, "index", key)
    return summary, ""


def _splits(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    from .data.splits import run_splits

    key = table_key(ws, ["index"], cfg.section_hash("splits"))
    if _stamps(ws).get("splits") == key and ws.has("splits"):
        return _summary("splits", skipped=len(ws.read("splits"))), "up to date"
    table = run_splits(ws, cfg)
    _set_stamp(ws, "splits", key)
    no_fold = int((table["fold"] < 0).sum())
    return _summary("splits", done=len(table)), f"{no_fold} without a fold"


def _augment(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    from .augment.stage import run_augment

    _, summary = run_augment(ws, cfg)
    return summary, f"{cfg.augment.per_video} per video"


def _features(stage: int) -> Callable[[Workspace, FvcConfig, RunOptions], tuple[StageSummary, str]]:
    def run(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
        from .features.stage import run_features

        return run_features(ws, cfg, stage=stage), ""

    return run


def _scale(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    from .scale.stage import run_scale

    _, summary = run_scale(ws, cfg)
    return summary, f"{cfg.scale.method} {cfg.scale.size}"


def _train(ws: Workspace, cfg: FvcConfig, opts: RunOptions) -> tuple[StageSummary, str]:
    """Cross-validate the selected models; a model is skipped when its run config and
    its input tables are unchanged since it last finished."""
    from .experiment import default_run_config, run_experiment
    from .experiment.feature_adapter import feature_tables
    from .experiment.observers import build_observers
    from .experiment.result_files import METRICS_FILE, result_dir
    from .models import resolve_models

    entries = resolve_models(opts.models)
    missing = [e.id for e in entries if any(not ws.has(f"features_stage{k}") for k in e.data.stages)]
    entries = [e for e in entries if e.id not in missing]
    if not entries:
        raise InputError("--models", f"'{opts.models}' selects no model whose feature tables exist")
    observers = build_observers(ws, tracking=opts.tracking)
    summary = _summary("train")
    stamps = _stamps(ws)
    for entry in entries:
        rc = default_run_config(entry.id)
        tables = feature_tables(rc.feature_stages) if entry.family == "features" else ["scaled", "splits"]
        key = table_key(ws, tables, rc.hash())
        if stamps.get(f"train:{entry.id}") == key and (result_dir(ws, entry.id) / METRICS_FILE).exists():
            summary.skipped += 1
            continue
        try:
            run_experiment(ws, cfg, rc, observers)
        except InputError:
            summary.failed += 1
            raise
        _set_stamp(ws, f"train:{entry.id}", key)
        summary.done += 1
    note = f"not run (no feature tables): {', '.join(missing)}" if missing else ""
    return summary, note


RUNNERS: dict[str, Callable[[Workspace, FvcConfig, RunOptions], tuple[StageSummary, str]]] = {
    "setup": _setup, "index": _index, "splits": _splits, "augment": _augment,
    "features2": _features(2), "scale": _scale, "features4": _features(4), "train": _train,
}


def run_pipeline(
    ws: Workspace,
    cfg: FvcConfig,
    opts: RunOptions | None = None,
    start: str | None = None,
    stop: str | None = None,
    on_stage: Callable[[int, int, str], None] | None = None,
) -> PipelineReport:
    """Run the selected stages in order; stop at the first stage that raises.

    The report lists every stage (not-selected ones too) so the summary shows
    the whole pipeline; ``report.error`` holds the message of a stopping error.
    """
    from .errors import FvcError

    opts = opts or RunOptions()
    chosen = stage_range(start, stop)
    report = PipelineReport()
    for k, name in enumerate(chosen, 1):
        if on_stage:
            on_stage(k, len(chosen), name)
        t0 = time.perf_counter()
        try:
            summary, note = RUNNERS[name](ws, cfg, opts)
        except FvcError as exc:
            report.results.append(StageResult(name, "failed", seconds=time.perf_counter() - t0, note=str(exc)))
            report.error = f"stage '{name}': {exc}"
            break
        status = "up to date" if summary.done == 0 and summary.failed == 0 and summary.skipped else "ran"
        report.results.append(StageResult(name, status, summary.done, summary.skipped, summary.failed,
                                          time.perf_counter() - t0, note))
    ran = {r.stage for r in report.results}
    report.results += [StageResult(s, "not selected" if s not in chosen else "not reached") for s in STAGES if s not in ran]
    order = {s: i for i, s in enumerate(STAGES)}
    report.results.sort(key=lambda r: order[r.stage])
    return report
