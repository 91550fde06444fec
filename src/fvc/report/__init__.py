"""The HTML report: model comparison, curves, importances and dataset plots in one file."""

from .html import build_report

__all__ = ["build_report"]
