"""Explanation command: a verdict with its timeline, evidence, codec panel and OOD check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ._common import WorkspaceOpt, console, open_workspace


def explain(
    video: Annotated[Path, typer.Argument(help="Video file to explain.", show_default=False)],
    model: Annotated[str, typer.Option("--model", "-m", help="Model id, run folder, model file, or models:/fvc-<id>@champion.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for explain.json and the PNGs (default: ./<video>-explain).", show_default=False)] = None,
    workspace: WorkspaceOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON document instead of a summary.")] = False,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Probability at or above which a video or segment is called fake.")] = 0.5,
) -> None:
    """Explain one video: segment timeline, evidence per feature family or Grad-CAM, codec panel, OOD warning.

    Writes OUT/explain.json (schema: docs/explain-schema.md) and its PNGs.
    """
    from ..explain import explain_video
    from ..predict import Predictor
    from ..tracking.model_registry import resolve_model_ref
    from ..training.metrics import json_safe
    from ..workspace import atomic_write_text

    ws, _ = open_workspace(workspace)
    predictor = Predictor(resolve_model_ref(ws, model), threshold=threshold)
    out = out or Path(f"{video.stem}-explain")
    doc = explain_video(predictor, video, out)
    text = json.dumps(json_safe(doc), indent=2)
    atomic_write_text(out / "explain.json", text)
    if as_json:
        typer.echo(text)
        return
    v, ood = doc["verdict"], doc["ood"]
    console.print(f"{video.name}: [bold]{v['label']}[/] (p_fake {v['prob_fake']:.3f}, model {doc['model']['model_id']})")
    for seg in doc["timeline"]["segments"]:
        mark = " <- suspicious" if seg["suspicious"] else ""
        console.print(f"  {seg['start_s']:6.1f}-{seg['end_s']:6.1f} s  {seg['prob_fake']:.3f}{mark}", highlight=False)
    for fam in doc["evidence"]["families"][:4]:
        console.print(f"  {fam['family']}: {fam['reading']}", highlight=False)
    if ood.get("warning"):
        console.print(f"[bold yellow]warning:[/] {ood['message']}")
    console.print(f"wrote {out / 'explain.json'} and {len(doc['images'])} PNGs ({doc['elapsed_s']:.1f} s)")


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
