"""Stage 1: N deterministic augmented copies per video and profile, resumable per source video.

Each source video is one row of the stage runner: its N copies under each
profile in use (``augment.profile`` for stage-2 features, ``augment.deep_profile``
for stage 3 and the deep models) plus the original (aug_index 0, profile
``original``, the original file referenced, not re-encoded) are saved as one
part file once all are written. Each copy is written under a
temporary name and renamed when complete, so a kill loses at most the video
in progress. Copies keep their source's cascade, group and label; folds are
never copied (training joins them from ``splits``), so re-made folds cannot
go stale here.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path
from typing import Any

import av
import pandas as pd

from ..config import AugmentConfig, FvcConfig
from ..errors import InputError
from ..stages import Stage, StageSummary, run_stage
from ..workspace import Workspace
from .params import PARAMS_VERSION, profile_crf, sample_params, to_json
from .render import EncodeSettings, render_augmented

STAGE = "augmented"
CARRIED = ["cascade_id", "group_id", "label"]
# What a stage knows of each video it encodes, recorded so that nothing downstream re-probes the file:
# codec (the decoder's name, as a probe says it), encoder settings (JSON), size, frame rate; plus n_frames.
WRITTEN = ["codec", "encoder", "width", "height", "fps"]
COLUMNS = ["video_id", "source_video_id", "aug_index", "aug_profile", "params", "path", "is_augmented", *CARRIED,
           "n_frames", *WRITTEN, "error"]
ORIGINAL = "original"  # the aug_profile of aug_index 0 rows
NO_COPIES = "none"  # a profile setting: no copies for that consumer
ID_TAGS = {"full": "aug", "forensic_safe": "safe"}  # video id of copy k: <source>__<tag><k:02d>
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
    """Readable videos of ``index`` (path, file hash) with cascade, group and label from ``splits``.

    Rows with an index error are skipped; so are rows without a fold or
    label unless ``include_unlabeled``. The fold only selects rows: it is not
    returned, so no stage output carries it.
    """
    index = ws.read("index")
    splits = ws.read("splits")
    for col in ("video_id", "fold", *CARRIED):
        if col not in splits.columns:
            raise InputError(ws.table("splits"), f"missing column '{col}'; re-run 'fvc splits'")
    if "error" in index.columns:
        index = index[index["error"].isna()]
    content = [c for c in ("sha256",) if c in index.columns]  # the file's content is part of a row's key
    df = index[["video_id", "path", *content]].merge(splits[["video_id", "fold", *CARRIED]], on="video_id",
                                                     how="inner")
    if not include_unlabeled:
        df = df[(df["fold"] >= 0) & df["label"].notna()]
    return df.drop(columns=["fold"]).sort_values("video_id").reset_index(drop=True)


def aug_video_id(source_id: str, aug_index: int, profile: str = "full") -> str:
    return f"{source_id}__{ID_TAGS[profile]}{aug_index:02d}"


def profiles_in_use(acfg: AugmentConfig) -> list[str]:
    """The profiles stage 1 renders copies under: the features' first, then the deep models'."""
    return list(dict.fromkeys(p for p in (acfg.profile, acfg.deep_profile) if p != NO_COPIES))


def encode_settings(acfg: AugmentConfig, profile: str = "full") -> EncodeSettings:
    return EncodeSettings(options={"preset": acfg.preset, "crf": str(profile_crf(profile, acfg.crf))})


def written_facts(enc: EncodeSettings, width: int, height: int, fps: float, frames: int) -> dict[str, Any]:
    """The ``WRITTEN`` columns and ``n_frames`` of a video a stage encoded with ``enc`` (stages 1 and 3)."""
    return {"codec": av.codec.Codec(enc.codec, "w").canonical_name,
            "encoder": json.dumps(dataclasses.asdict(enc), sort_keys=True),
            "width": int(width), "height": int(height), "fps": float(fps), "n_frames": int(frames)}


def set_written_types(df: pd.DataFrame) -> pd.DataFrame:
    """The column types of ``WRITTEN`` and ``n_frames`` (shared by the augmented and scaled tables)."""
    for col in ("width", "height", "n_frames"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")
    df["fps"] = pd.to_numeric(df["fps"], errors="coerce").astype("float64")
    for col in ("codec", "encoder"):
        df[col] = df[col].astype("string")
    return df


def augment_one(ws: Workspace, row: dict[str, Any], acfg: AugmentConfig) -> list[dict[str, Any]]:
    """Write the N augmented copies per profile of one source video; return its table rows."""
    out_dir = ws.stage_dir("augment")
    out_dir.mkdir(parents=True, exist_ok=True)
    src = resolve(ws, row["path"])
    carried = {c: row[c] for c in CARRIED}
    rows = [{
        "video_id": row["video_id"], "source_video_id": row["video_id"], "aug_index": 0, "aug_profile": ORIGINAL,
        "params": to_json({"version": PARAMS_VERSION, "original": True}), "path": row["path"],
        "is_augmented": False, **carried, "n_frames": None,
    }]
    for profile in profiles_in_use(acfg):
        enc = encode_settings(acfg, profile)
        for k in range(1, acfg.per_video + 1):
            vid = aug_video_id(row["video_id"], k, profile)
            params = sample_params(row["video_id"], k, acfg.seed, acfg.op_probability, profile)
            final = out_dir / f"{vid}.mp4"
            tmp = out_dir / f".{vid}{PARTIAL}"
            try:
                info = render_augmented(src, tmp, params, enc, chunk_frames=acfg.chunk_frames,
                                        chunk_mb=acfg.chunk_mb)
                os.replace(tmp, final)
            finally:
                if tmp.exists():
                    tmp.unlink()
            rows.append({
                "video_id": vid, "source_video_id": row["video_id"], "aug_index": k, "aug_profile": profile,
                "params": to_json(params), "path": relative(ws, final), "is_augmented": True, **carried,
                **written_facts(enc, info["width"], info["height"], info["fps"], info["frames_out"]),
            })
    return rows


def feature_rows(table: pd.DataFrame, acfg: AugmentConfig) -> pd.DataFrame:
    """The rows of the augmented table stage-2 features read: originals and the features' profile."""
    if "aug_profile" not in table.columns:
        raise InputError("augmented.parquet", "no 'aug_profile' column (written by an older version); "
                         "re-run 'fvc augment'")
    keep = table["aug_profile"].isna() | table["aug_profile"].isin([ORIGINAL, acfg.profile])  # NA: failed source
    return table[keep]


def _clean_partials(out_dir: Path) -> None:
    if out_dir.exists():
        for p in out_dir.glob(f".*{PARTIAL}"):
            p.unlink(missing_ok=True)
        for p in out_dir.glob("reverse-*"):
            for f in p.glob("*"):
                f.unlink(missing_ok=True)
            p.rmdir()


def finish_table(table: pd.DataFrame, sources: pd.DataFrame, index: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fill failed rows from their source, the originals' file facts from the index (which probed them;
    they are not re-encoded, so no encoder), and fix the column types of the contract."""
    df = table.copy()
    for col in COLUMNS:
        if col not in df.columns:
            df[col] = None
    if index is not None and len(df):
        probed = index.set_index("video_id").rename(columns={"frame_count": "n_frames"})
        original = df["aug_index"].astype("Int64").eq(0).fillna(False).to_numpy(dtype=bool)
        for col in ("codec", "width", "height", "fps", "n_frames"):
            if col in probed.columns:
                df[col] = df[col].astype(object).where(~original, df["video_id"].map(probed[col]))
    failed = df["source_video_id"].isna()
    if failed.any():
        df["source_video_id"] = df["source_video_id"].astype(object).where(~failed, df["video_id"])
        src = sources.set_index("video_id")
        for col in CARRIED:
            df[col] = df[col].astype(object).where(~failed, df["source_video_id"].map(src[col]))
    df["aug_index"] = pd.to_numeric(df["aug_index"], errors="coerce").astype("Int64")
    df["label"] = pd.to_numeric(df["label"], errors="coerce").astype("Int64")
    set_written_types(df)
    df["is_augmented"] = df["is_augmented"].astype("boolean")
    for col in ("video_id", "source_video_id", "aug_profile", "params", "path", "cascade_id", "group_id", "error"):
        df[col] = df[col].astype("string")
    extra = [c for c in df.columns if c not in COLUMNS]
    return df[COLUMNS + extra]


# version 2: the WRITTEN columns
AUGMENT = Stage("augment", output=STAGE, inputs=("index", "splits"), config=("augment",),
                version=f"2.params{PARAMS_VERSION}", per_video=True, files="augment")


def run_augment(ws: Workspace, cfg: FvcConfig, per_video: int | None = None, workers: int = 1,
                retry_failed: bool = True) -> tuple[pd.DataFrame, StageSummary]:
    """Stage 1 over every usable video; returns the ``augmented`` table and counts."""
    if per_video is not None and int(per_video) < 0:
        raise InputError("--per-video", "must be >= 0")
    if per_video is not None:
        cfg = cfg.model_copy(update={"augment": cfg.augment.model_copy(update={"per_video": int(per_video)})})
    acfg = cfg.augment
    if not 0 <= acfg.op_probability <= 1:
        raise InputError("augment.op_probability", "must be between 0 and 1")
    sources = source_videos(ws, acfg.include_unlabeled)
    index = ws.read("index")
    _clean_partials(ws.stage_dir("augment"))
    return run_stage(ws, AUGMENT, cfg, sources.to_dict("records"), functools.partial(augment_one, ws, acfg=acfg),
                     workers=workers, retry_failed=retry_failed, finish=lambda t: finish_table(t, sources, index),
                     description="augment")
