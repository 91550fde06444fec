"""Model listing command."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import open_workspace, print_table, WorkspaceOpt


def models(
    workspace: WorkspaceOpt = None,
    family: Annotated[str | None, typer.Option(help="Only this family: features or deep.")] = None,
) -> None:
    """List every registered model with its id, family and inputs."""
    from ..models.registry import list_models
    rows = [s.as_row() for s in list_models(family)]
    print_table("Models", rows, ["id", "name", "family", "inputs", "presets", "description"])


def register(app: typer.Typer) -> None:
    app.command("models")(models)
