"""Experiments: the run config, one grouped-CV loop for every model family, and the result files."""

from .loop import experiment_folds, run_experiment, run_experiment_fold
from .result_files import CVResult
from .run_config import RunConfig, default_run_config

__all__ = ["CVResult", "RunConfig", "default_run_config", "experiment_folds", "run_experiment",
           "run_experiment_fold"]
