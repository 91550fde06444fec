"""``fvc synth``: generate a corpus in the FVC layout (archives + metadata) for demos and tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import console, print_table


def register(app: typer.Typer) -> None:
    @app.command("synth")
    def synth_cmd(
        out: Annotated[Path, typer.Option("--out", help="Folder to write FVC1..3.zip, Metadata.zip and ground_truth.csv.")],
        videos: Annotated[int, typer.Option("--videos", help="Number of video files, near-duplicates included.")] = 120,
        seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same corpus.")] = 0,
        password: Annotated[str | None, typer.Option(
            "--password", help="Archive password (default: $FVC_ARCHIVE_PASSWORD or 'fvc-synth').")] = None,
        cascades: Annotated[int | None, typer.Option(
            "--cascades", help="Number of cascades (default: about videos / 1.5).")] = None,
        max_height: Annotated[int, typer.Option("--max-height", help="Largest frame height (short side), pixels.")] = 720,
        max_duration: Annotated[float, typer.Option("--max-duration", help="Longest clip, seconds.")] = 8.0,
        workers: Annotated[int, typer.Option("--workers", min=1, help="Processes used for rendering.")] = 2,
        keep_videos: Annotated[bool, typer.Option(
            "--keep-videos", help="Also leave the plain video files in OUT/videos.")] = False,
    ) -> None:
        """Generate a synthetic FVC-format corpus (camera-like real videos, manipulated fakes, near-duplicates)."""
        from ..data.synth import build

        result = build(out, videos, seed, password, max_height, max_duration, cascades, workers, keep_videos)
        m = result.manifest
        rows = []
        for (source, label), n in m.groupby(["source", "label_raw"]).size().items():
            rows.append({"csv": f"{source}.csv", "label": label, "videos": int(n)})
        print_table("corpus", rows)
        console.print(f"cascades: {m.cascade_id.nunique()}, videos: {len(m)}, built in {result.seconds:.1f} s "
                      f"({len(m) / max(result.seconds, 1e-9):.2f} videos/s)")
        console.print(f"archives: {result.out_dir} (password: {result.password})", highlight=False, soft_wrap=True)
