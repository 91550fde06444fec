"""Stages 2 and 4: features for every video of the input table, resumable.

Stage 2 reads the augmented videos (stage 1) when that table exists, else the
originals (``index`` joined with ``splits``); stage 4 reads the scaled videos
(stage 3) and adds their up/down-scaled flags. Both write one row per video
with the same feature columns; a video that fails keeps a row with its error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import FvcConfig, stable_hash
from ..data.index import probe_video
from ..errors import InputError, VideoError
from ..stages import StageSummary, clear_stage, run_stage
from ..workspace import Workspace
from .extract import FEATURE_VERSION, feature_names, video_features

META = ["video_id", "source_video_id", "fold", "label"]
SCALE_FLAGS = ["is_upscaled", "is_downscaled"]
_PROBE_KEYS = ("codec", "profile", "width", "height", "fps", "frame_count", "duration", "bit_rate",
               "video_bit_rate", "keyframe_interval", "has_b_frames", "has_audio")


def table_name(stage: int) -> str:
    return f"features_stage{stage}"


def _clean(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else v


def input_rows(ws: Workspace, stage: int) -> tuple[pd.DataFrame, str]:
    """The videos a stage works on (one row each, META + path + probe columns), and the table used."""
    if stage == 4:
        if not ws.has("scaled"):
            raise InputError(ws.table("scaled"), "stage 4 needs the scaled videos; run 'fvc scale' first")
        df = ws.read("scaled")
        return _with_meta(df, "scaled"), "scaled"
    if stage != 2:
        raise InputError("--stage", f"feature stage must be 2 or 4, got {stage}")
    if ws.has("augmented"):
        aug = _with_meta(ws.read("augmented"), "augmented")
        if ws.has("index"):
            # Copies that are the original file itself reuse the index probe instead of probing again.
            idx = ws.read("index").set_index("video_id")
            cols = [c for c in _PROBE_KEYS if c in idx.columns]
            probe = idx[cols + ["path"]].rename(columns={"path": "_index_path"})
            aug = aug.join(probe, on="source_video_id")
            same = aug["_index_path"].astype(str) == aug["path"].astype(str)
            for c in cols:
                aug[c] = aug[c].where(same)
            aug = aug.drop(columns=["_index_path"])
        return aug, "augmented"
    index = ws.read("index")
    if not ws.has("splits"):
        raise InputError(ws.table("splits"), "table not found; run 'fvc splits' first")
    splits = ws.read("splits")[["video_id", "fold", "label"]]
    df = index.drop(columns=[c for c in ("fold", "label") if c in index.columns]).merge(splits, on="video_id", how="left")
    df["source_video_id"] = df["video_id"]
    return _with_meta(df, "index"), "index"


def _with_meta(df: pd.DataFrame, name: str) -> pd.DataFrame:
    for col in ("video_id", "path"):
        if col not in df.columns:
            raise InputError(f"{name}.parquet", f"missing column '{col}'")
    df = df.copy()
    if "source_video_id" not in df.columns:
        df["source_video_id"] = df["video_id"]
    df["fold"] = pd.to_numeric(df.get("fold", -1), errors="coerce").fillna(-1).astype("int64")
    df["label"] = pd.to_numeric(df.get("label"), errors="coerce").astype("Int64")
    if "error" not in df.columns:
        df["error"] = None
    return df


def stage_hash(cfg: FvcConfig, stage: int, source: str) -> str:
    upstream = {"index": [], "augmented": ["augment"], "scaled": ["augment", "scale"]}[source]
    return stable_hash({"features": cfg.section_hash("features"), "version": FEATURE_VERSION, "stage": stage,
                        "source": source, "upstream": cfg.section_hash(*upstream) if upstream else None})


def _row_fn(ws: Workspace, cfg: FvcConfig, stage: int):
    def fn(row: dict[str, Any]) -> dict[str, Any]:
        path = Path(str(row["path"]))
        if not path.is_absolute():
            path = ws.root / path
        if _clean(row.get("error")):
            raise VideoError(path, f"upstream error: {row['error']}")
        probe = {k: _clean(row.get(k)) for k in _PROBE_KEYS}
        if not probe.get("frame_count"):
            probe = probe_video(path)  # derived video (augmented/scaled): probe its own codec cues
        out = {m: _clean(row.get(m)) for m in META}
        out.update(video_features(path, probe, cfg.features))
        if stage == 4:
            for flag in SCALE_FLAGS:
                out[flag] = float(bool(_clean(row.get(flag))))
        return out

    return fn


def run_features(ws: Workspace, cfg: FvcConfig, stage: int = 2, force: bool = False) -> StageSummary:
    """Compute ``features_stage{stage}``; rows already done with the same config are skipped."""
    rows, source = input_rows(ws, stage)
    name = table_name(stage)
    if force:
        clear_stage(ws, name)
    chash = stage_hash(cfg, stage, source)
    table, summary = run_stage(ws, name, rows.to_dict("records"), _row_fn(ws, cfg, stage),
                               config_hash=chash, description=f"features stage {stage}")
    table = finalize_table(table, rows, stage)
    summary.table = ws.write(name, table)
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
    table["fold"] = table["fold"].fillna(-1).astype("int64")
    table["label"] = table["label"].astype("Int64")
    table["n_frames_sampled"] = pd.to_numeric(table["n_frames_sampled"], errors="coerce").astype("Int64")
    return table[META + feats + ["n_frames_sampled", "error", "config_hash"]].reset_index(drop=True)
