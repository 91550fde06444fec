"""Stage 1: N deterministic augmented copies per video, resumable per source video.

Each source video is one row of the stage runner: its N copies plus the
original (aug_index 0, the original file referenced, not re-encoded) are
saved as one part file once all are written. Each copy is written under a
temporary name and renamed when complete, so a kill loses at most the video
in progress. Copies keep their source's fold, cascade and group: an
augmented copy never leaves its source's fold.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import AugmentConfig, FvcConfig, stable_hash
from ..errors import InputError
from ..stages import StageSummary, run_stage
from ..workspace import Workspace
from .params import PARAMS_VERSION, sample_params, to_json
from .render import EncodeSettings, render_augmented

STAGE = "augmented"
CARRIED = ["fold", "cascade_id", "group_id", "label"]
COLUMNS = ["video_id", "source_video_id", "aug_index", "params", "path", "is_augmented", *CARRIED,
           "n_frames", "error"]
PARTIAL = ".partial.mp4"


def resolve(ws: Workspace, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else ws.root / p


def relative(ws: Workspace, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ws.root))
    except ValueError:
        return str(path.resolve())


def source_videos(ws: Workspace, include_unlabeled: bool = False) -> pd.DataFrame:
    """Readable videos of ``index`` with their fold from ``splits``.

    Rows with an index error are skipped; so are rows without a fold or
    label unless ``include_unlabeled``.
    """
    index = ws.read("index")
    splits = ws.read("splits")
    for col in ("video_id", *CARRIED):
        if col not in splits.columns:
            raise InputError(ws.table("splits"), f"missing column '{col}'; re-run 'fvc splits'")
    if "error" in index.columns:
        index = index[index["error"].isna()]
    df = index[["video_id", "path"]].merge(splits[["video_id", *CARRIED]], on="video_id", how="inner")
    if not include_unlabeled:
        df = df[(df["fold"] >= 0) & df["label"].notna()]
    return df.sort_values("video_id").reset_index(drop=True)


def aug_video_id(source_id: str, aug_index: int) -> str:
    return f"{source_id}__aug{aug_index:02d}"


def encode_settings(acfg: AugmentConfig) -> EncodeSettings:
    return EncodeSettings(options={"preset": acfg.preset, "crf": str(acfg.crf)})


def augment_one(ws: Workspace, row: dict[str, Any], acfg: AugmentConfig) -> list[dict[str, Any]]:
    """Write the N augmented copies of one source video; return its table rows."""
    out_dir = ws.stage_dir("augment")
    out_dir.mkdir(parents=True, exist_ok=True)
    src = resolve(ws, row["path"])
    carried = {c: row[c] for c in CARRIED}
    rows = [{
        "video_id": row["video_id"], "source_video_id": row["video_id"], "aug_index": 0,
        "params": to_json({"version": PARAMS_VERSION, "original": True}), "path": row["path"],
        "is_augmented": False, **carried, "n_frames": None,
    }]
    enc = encode_settings(acfg)
    for k in range(1, acfg.per_video + 1):
        vid = aug_video_id(row["video_id"], k)
        params = sample_params(row["video_id"], k, acfg.seed, acfg.op_probability)
        final = out_dir / f"{vid}.mp4"
        tmp = out_dir / f".{vid}{PARTIAL}"
        try:
            info = render_augmented(src, tmp, params, enc, chunk_frames=acfg.chunk_frames, chunk_mb=acfg.chunk_mb)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                tmp.unlink()
        rows.append({
            "video_id": vid, "source_video_id": row["video_id"], "aug_index": k, "params": to_json(params),
            "path": relative(ws, final), "is_augmented": True, **carried, "n_frames": info["frames_out"],
        })
    return rows


def augment_hash(acfg: AugmentConfig) -> str:
    return stable_hash({"augment": acfg.model_dump(mode="json"), "params_version": PARAMS_VERSION})


def _clean_partials(out_dir: Path) -> None:
    if out_dir.exists():
        for p in out_dir.glob(f".*{PARTIAL}"):
            p.unlink(missing_ok=True)
        for p in out_dir.glob("reverse-*"):
            for f in p.glob("*"):
                f.unlink(missing_ok=True)
            p.rmdir()


def finish_table(table: pd.DataFrame, sources: pd.DataFrame) -> pd.DataFrame:
    """Fill failed rows from their source and fix the column types of the contract."""
    df = table.copy()
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = None
    failed = df["source_video_id"].isna()
    if failed.any():
        df["source_video_id"] = df["source_video_id"].astype(object).where(~failed, df["video_id"])
        src = sources.set_index("video_id")
        for col in CARRIED:
            df[col] = df[col].astype(object).where(~failed, df["source_video_id"].map(src[col]))
    df["aug_index"] = pd.to_numeric(df["aug_index"], errors="coerce").astype("Int64")
    df["fold"] = pd.to_numeric(df["fold"], errors="coerce").astype("Int64")
    df["label"] = pd.to_numeric(df["label"], errors="coerce").astype("Int64")
    df["n_frames"] = pd.to_numeric(df["n_frames"], errors="coerce").astype("Int64")
    df["is_augmented"] = df["is_augmented"].astype("boolean")
    for col in ("video_id", "source_video_id", "params", "path", "cascade_id", "group_id", "error"):
        df[col] = df[col].astype("string")
    extra = [c for c in df.columns if c not in COLUMNS]
    return df[COLUMNS + extra]


def run_augment(ws: Workspace, cfg: FvcConfig, per_video: int | None = None) -> tuple[pd.DataFrame, StageSummary]:
    """Stage 1 over every usable video; returns the ``augmented`` table and counts."""
    acfg = cfg.augment if per_video is None else cfg.augment.model_copy(update={"per_video": int(per_video)})
    if acfg.per_video < 0:
        raise InputError("--per-video", "must be >= 0")
    if not 0 <= acfg.op_probability <= 1:
        raise InputError("augment.op_probability", "must be between 0 and 1")
    sources = source_videos(ws, acfg.include_unlabeled)
    _clean_partials(ws.stage_dir("augment"))
    table, summary = run_stage(
        ws, STAGE, sources.to_dict("records"), lambda row: augment_one(ws, row, acfg),
        config_hash=augment_hash(acfg), description="augment",
    )
    table = finish_table(table, sources)
    summary.table = ws.write(STAGE, table)
    return table, summary
