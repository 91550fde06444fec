"""Experiments: the run config, one grouped-CV loop for every model family, and the result files."""

from .loop import run_experiment
from .result_files import CVResult
from .run_config import RunConfig, default_run_config

__all__ = ["CVResult", "RunConfig", "default_run_config", "run_experiment"]
