"""Stage 3: every stage-1 video (or every indexed video) scaled to one square size.

Input is the ``augmented`` table when it exists (originals and copies), else
``index`` + ``splits``. One part file per video: a re-run skips videos done
with the same scale settings and the same stage-1 output (the input row, with
its stage-1 key, is part of the row's key).
"""

from __future__ import annotations

import functools
import os
from typing import Any

import pandas as pd

from ..augment.stage import CARRIED, WRITTEN, relative, resolve, set_written_types, source_videos, written_facts
from ..config import FvcConfig, ScaleConfig
from ..errors import InputError
from ..stages import KEY_COLUMN, Stage, StageSummary, run_stage
from ..video.encode import EncodeSettings
from ..workspace import Workspace
from .autoencoder import VaeRoundTrip, load_vae
from .letterbox import check_size, letterbox_video

STAGE = "scaled"
METHODS = ("letterbox", "autoencoder")
COLUMNS = ["video_id", "source_video_id", "path", "width", "height", "orig_width", "orig_height",
           "is_upscaled", "is_downscaled", "method", *CARRIED, "n_frames",
           *[c for c in WRITTEN if c not in ("width", "height")], "error"]
PARTIAL = ".partial.mp4"


def scale_inputs(ws: Workspace, cfg: FvcConfig) -> tuple[pd.DataFrame, str]:
    """Rows to scale (with what identifies their content: stage 1's row key or the file hash) and their table."""
    if ws.has("augmented"):
        aug = ws.read("augmented")
        if "error" in aug.columns:
            aug = aug[aug["error"].isna()]
        content = [c for c in (KEY_COLUMN,) if c in aug.columns]
        return aug[["video_id", "source_video_id", "path", *CARRIED, *content]].reset_index(drop=True), "augmented"
    src = source_videos(ws, cfg.augment.include_unlabeled)
    src["source_video_id"] = src["video_id"]
    content = [c for c in ("sha256",) if c in src.columns]
    return src[["video_id", "source_video_id", "path", *CARRIED, *content]], "index"


def scale_one(ws: Workspace, row: dict[str, Any], scfg: ScaleConfig, transform, enc: EncodeSettings) -> dict[str, Any]:
    out_dir = ws.stage_dir("scale")
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"{row['video_id']}.mp4"
    tmp = out_dir / f".{row['video_id']}{PARTIAL}"
    try:
        info = letterbox_video(resolve(ws, row["path"]), tmp, scfg.size, enc,
                               transform=transform, batch=scfg.vae_batch if transform else 1)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    g = info["geometry"]
    return {
        "video_id": row["video_id"], "source_video_id": row["source_video_id"], "path": relative(ws, final),
        "orig_width": g.width, "orig_height": g.height,
        "is_upscaled": g.is_upscaled, "is_downscaled": g.is_downscaled, "method": scfg.method,
        **{c: row[c] for c in CARRIED}, **written_facts(enc, scfg.size, scfg.size, info["fps"], info["frames"]),
    }


def finish_table(table: pd.DataFrame, inputs: pd.DataFrame) -> pd.DataFrame:
    df = table.copy()
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = None
    failed = df["source_video_id"].isna()
    if failed.any():
        src = inputs.set_index("video_id")
        for col in ("source_video_id", *CARRIED):
            df[col] = df[col].astype(object).where(~failed, df["video_id"].map(src[col]))
    for col in ("orig_width", "orig_height", "label"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    set_written_types(df)
    for col in ("is_upscaled", "is_downscaled"):
        df[col] = df[col].astype("boolean")
    for col in ("video_id", "source_video_id", "path", "method", "cascade_id", "group_id", "error"):
        df[col] = df[col].astype("string")
    extra = [c for c in df.columns if c not in COLUMNS]
    return df[COLUMNS + extra]


# version 2: the WRITTEN columns
SCALE = Stage("scale", output=STAGE, inputs=("augmented", "index", "splits"), config=("scale",), version="2",
              per_video=True, files="scale")


def run_scale(
    ws: Workspace, cfg: FvcConfig, size: int | None = None, method: str | None = None, vae: str | None = None,
    workers: int = 1, retry_failed: bool = True,
) -> tuple[pd.DataFrame, StageSummary]:
    """Stage 3 over the stage-1 outputs; returns the ``scaled`` table and counts.

    The autoencoder runs in this process only (one model on one device), whatever ``workers`` says.
    """
    update = {k: v for k, v in {"size": size, "method": method, "vae": vae}.items() if v is not None}
    scfg = cfg.scale.model_copy(update=update)
    cfg = cfg.model_copy(update={"scale": scfg})
    check_size(scfg.size)
    if scfg.method not in METHODS:
        raise InputError("--method", f"unknown method '{scfg.method}'; choose one of {', '.join(METHODS)}")
    if scfg.vae_batch < 1:
        raise InputError("scale.vae_batch", "must be >= 1")
    transform = None
    if scfg.method == "autoencoder":  # load (or fail) before any video is touched
        transform = VaeRoundTrip(load_vae(scfg.vae, ws.root / "models" / "sd-vae-ft-mse"))
    inputs, _ = scale_inputs(ws, cfg)
    out_dir = ws.stage_dir("scale")
    if out_dir.exists():
        for p in out_dir.glob(f".*{PARTIAL}"):
            p.unlink(missing_ok=True)
    enc = EncodeSettings(options={"preset": scfg.preset, "crf": str(scfg.crf)})
    return run_stage(
        ws, SCALE, cfg, inputs.to_dict("records"), functools.partial(scale_one, ws, scfg=scfg, transform=transform, enc=enc),
        workers=1 if transform is not None else workers, retry_failed=retry_failed,
        finish=lambda t: finish_table(t, inputs), description=f"scale ({scfg.method} {scfg.size})",
    )
