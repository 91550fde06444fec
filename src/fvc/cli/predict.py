"""Prediction command: per-video fake probability from a trained model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._common import WorkspaceOpt, console, console_err, open_workspace, print_table


def predict(
    videos: Annotated[list[Path], typer.Argument(help="Video files to score.", show_default=False)],
    model: Annotated[str, typer.Option("--model", "-m", help="Model id, run folder, model file, or models:/fvc-<id>@champion.")],
    workspace: WorkspaceOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Probability at or above which a video is called fake.")] = 0.5,
) -> None:
    """Score videos with a trained model: per-video fake probability (table or --json).

    The model's card decides the preprocessing, never this workspace's fvc.yaml.
    """
    from ..predict import predict_videos
    from ..tracking.model_registry import resolve_model_ref

    ws, _ = open_workspace(workspace)
    preds = predict_videos(videos, resolve_model_ref(ws, model), threshold=threshold)
    rows = [p.as_row() for p in preds]
    if as_json:
        typer.echo(json.dumps({"model": model, "predictions": rows}, indent=2))
    else:
        print_table(f"fvc predict ({model})", rows, ["video", "prob_fake", "verdict", "clips"])
    failed = [p for p in preds if p.error]
    for p in failed:
        console_err.print(f"error: {p.error}", highlight=False, markup=False, soft_wrap=True)
    if failed:
        if not as_json:
            console.print(f"{len(preds) - len(failed)} scored, {len(failed)} failed")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("predict")(predict)
