"""Stages as declared nodes, the per-row runner with resume, and the local parallel executor."""

from .executor import Executor, current_executor, use_executor
from .graph import MISSING, STALE, UP_TO_DATE, Freshness, Stage, order, upstream
from .pool import default_workers
from .runner import KEY_COLUMN, StageSummary, clear_stage, run_stage

__all__ = ["Executor", "KEY_COLUMN", "MISSING", "STALE", "UP_TO_DATE", "Freshness", "Stage", "StageSummary", "clear_stage",
           "current_executor", "default_workers", "order", "run_stage", "upstream", "use_executor"]
