"""Model listing command."""

from __future__ import annotations

from typing import Annotated

import typer

from ._common import WorkspaceOpt, print_table


def models(
    workspace: WorkspaceOpt = None,
    family: Annotated[str | None, typer.Option(help="Only this family: features, deep, embedding or ensemble.")] = None,
) -> None:
    """List every model in the catalog with its id, family, inputs, presets, parameter count and paper."""
    from ..models import list_models

    rows = [e.as_row() for e in list_models(family)]
    print_table("Models", rows, ["id", "name", "family", "inputs", "presets", "params", "paper"])


def register(app: typer.Typer) -> None:
    app.command("models")(models)
