"""Stages 2 and 4: features for every video of the input table, resumable.

Stage 2 reads the augmented videos (stage 1) when that table exists, else the
originals (``index`` joined with ``splits``); stage 4 reads the scaled videos
(stage 3) and adds their up/down-scaled flags. Codec cues come from the
feature read itself (its packet pass), never from a second probe. Both write one row per video
with the same feature columns; a video that fails keeps a row with its error.
Folds are not copied here: training joins them from ``splits``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..augment.stage import feature_rows
from ..config import FvcConfig
from ..errors import InputError, VideoError
from ..stages import KEY_COLUMN, Stage, StageSummary, clear_stage, run_stage
from ..workspace import Workspace
from .columns import FEATURE_VERSION
from .extract import feature_names, video_features

META = ["video_id", "source_video_id", "label"]
SCALE_FLAGS = ["is_upscaled", "is_downscaled"]



def table_name(stage: int) -> str:
    return f"features_stage{stage}"


def _clean(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else v


def input_rows(ws: Workspace, stage: int, cfg: FvcConfig) -> tuple[pd.DataFrame, str]:
    """The videos a stage works on (one row each, META + path + probe columns), and the table used.

    Stage 2 reads the originals and the copies of the features' augmentation
    profile (``augment.profile``), not the deep models' copies.
    """
    if stage == 4:
        if not ws.has("scaled"):
            raise InputError(ws.table("scaled"), "stage 4 needs the scaled videos; run 'fvc scale' first")
        df = ws.read("scaled")
        return _with_meta(df, "scaled"), "scaled"
    if stage != 2:
        raise InputError("--stage", f"feature stage must be 2 or 4, got {stage}")
    if ws.has("augmented"):
        aug = feature_rows(ws.read("augmented"), cfg.augment)
        aug = _with_meta(aug, "augmented")
        return aug, "augmented"
    index = ws.read("index")
    if not ws.has("splits"):
        raise InputError(ws.table("splits"), "table not found; run 'fvc splits' first")
    splits = ws.read("splits")[["video_id", "label"]]
    df = index.drop(columns=[c for c in ("fold", "label") if c in index.columns]).merge(splits, on="video_id", how="left")
    df["source_video_id"] = df["video_id"]
    return _with_meta(df, "index"), "index"


def _with_meta(df: pd.DataFrame, name: str) -> pd.DataFrame:
    for col in ("video_id", "path"):
        if col not in df.columns:
            raise InputError(f"{name}.parquet", f"missing column '{col}'")
    df = df.drop(columns=[c for c in ("fold",) if c in df.columns])
    if "source_video_id" not in df.columns:
        df["source_video_id"] = df["video_id"]
    df["label"] = pd.to_numeric(df.get("label"), errors="coerce").astype("Int64")
    if "error" not in df.columns:
        df["error"] = None
    return df


def feature_row(ws: Workspace, cfg: FvcConfig, stage: int, row: dict[str, Any]) -> dict[str, Any]:
    """The features of one video row (a module-level function: the parallel executor pickles it)."""
    path = Path(str(row["path"]))
    if not path.is_absolute():
        path = ws.root / path
    if _clean(row.get("error")):
        raise VideoError(path, f"upstream error: {row['error']}")
    out = {m: _clean(row.get(m)) for m in META}
    out.update(video_features(path, cfg.features))  # codec cues come from the same read
    if stage == 4:
        for flag in SCALE_FLAGS:
            out[flag] = float(bool(_clean(row.get(flag))))
    return out


# Stage 2 reads 'augmented' (or, without it, 'index' with labels from 'splits').
FEATURES2 = Stage("features2", output=table_name(2), inputs=("augmented", "index", "splits"), config=("features",),
                  version=f"1.features{FEATURE_VERSION}", per_video=True)
FEATURES4 = Stage("features4", output=table_name(4), inputs=("scaled",), config=("features",),
                  version=f"1.features{FEATURE_VERSION}", per_video=True)
STAGES = {2: FEATURES2, 4: FEATURES4}


def run_features(ws: Workspace, cfg: FvcConfig, stage: int = 2, force: bool = False, workers: int = 1,
                 retry_failed: bool = True) -> StageSummary:
    """Compute ``features_stage{stage}``; rows whose inputs and config are unchanged are skipped."""
    rows, _ = input_rows(ws, stage, cfg)
    name = table_name(stage)
    if force:
        clear_stage(ws, name)
    _, summary = run_stage(ws, STAGES[stage], cfg, rows.to_dict("records"), functools.partial(feature_row, ws, cfg, stage),
                           workers=workers, retry_failed=retry_failed,
                           finish=lambda t: finalize_table(t, rows, stage), description=f"features stage {stage}")
    return summary


def finalize_table(table: pd.DataFrame, rows: pd.DataFrame, stage: int) -> pd.DataFrame:
    """Fill META for failed rows, add missing feature columns as NaN, fix the column order."""
    meta = rows.set_index("video_id")[[c for c in META if c != "video_id"]]
    table = table.drop(columns=[c for c in META[1:] if c in table.columns]).join(meta, on="video_id")
    feats = feature_names() + (SCALE_FLAGS if stage == 4 else [])
    for col in feats + ["n_frames_sampled"]:
        if col not in table.columns:
            table[col] = np.nan
    table[feats] = table[feats].astype("float64")
    table["label"] = table["label"].astype("Int64")
    table["n_frames_sampled"] = pd.to_numeric(table["n_frames_sampled"], errors="coerce").astype("Int64")
    return table[META + feats + ["n_frames_sampled", "error", KEY_COLUMN]].reset_index(drop=True)
