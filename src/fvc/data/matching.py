"""Match video files to FVC metadata rows.

A downloaded file is named by its platform id (``Y7MJlmbnLQA.mp4``), by a
yt-dlp style ``Title [id].mp4``, or for seed videos by the cascade id
(``f14.mp4``). One URL can sit in several rows, even in several cascades
and with different labels, so a file gets one ``videos`` row (the seed row
first, else the first FVC_dup row) that lists every cascade it belongs to
and flags label conflicts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .metadata import CASCADE_RE

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".webm", ".mkv", ".avi", ".mov", ".flv", ".3gp", ".m4v", ".mpg", ".mpeg", ".wmv", ".ts"}
)
_BRACKET_ID_RE = re.compile(r"\[([A-Za-z0-9_-]{6,})\]$")

VIDEOS_COLUMNS = [
    "video_id", "path", "cascade_id", "cascade_ids", "row_id", "source", "video_url", "platform",
    "platform_id", "label_raw", "label", "is_seed", "label_conflict", "matched_by", "n_rows",
]
UNMATCHED_COLUMNS = ["video_id", "path", "reason"]


def is_video_file(path: Path) -> bool:
    """A video by extension; macOS resource forks (``._x.mp4``, ``__MACOSX``) are not."""
    if path.suffix.lower() not in VIDEO_EXTENSIONS:
        return False
    if path.name.startswith("._") or "__MACOSX" in path.parts:
        return False
    return True


def find_videos(folder: Path, exclude: Iterable[Path] = ()) -> list[Path]:
    """Every video file under ``folder`` (any depth), sorted; folders in ``exclude`` are skipped."""
    excluded = [Path(p).resolve() for p in exclude]
    out = []
    for path in folder.rglob("*"):
        if not path.is_file() or not is_video_file(path):
            continue
        resolved = path.resolve()
        if any(resolved.is_relative_to(ex) for ex in excluded):
            continue
        out.append(path)
    return sorted(out)


def display_path(path: Path, root: Path) -> str:
    """Relative to the workspace root when inside it, else absolute (the videos table contract)."""
    path = Path(path).resolve()
    try:
        return path.relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


@dataclass
class MatchResult:
    metadata: pd.DataFrame  # every CSV row + video_id (or None)
    videos: pd.DataFrame  # one row per matched file
    unmatched: pd.DataFrame  # files that match no row (or duplicate a video_id)


def _row_order(meta: pd.DataFrame) -> pd.Series:
    """Preference: seed (FVC.csv) rows first, then CSV order."""
    return (~meta["is_seed"].astype(bool)).astype(int) * len(meta) + pd.RangeIndex(len(meta))


def match_files(meta: pd.DataFrame, files: Iterable[Path], root: Path) -> MatchResult:
    """Match each file's stem to rows by platform id, yt-dlp ``[id]`` or seed cascade id."""
    meta = meta.reset_index(drop=True).copy()
    order = _row_order(meta)
    by_platform: dict[str, list[int]] = {}
    by_cascade: dict[str, list[int]] = {}
    for i in sorted(range(len(meta)), key=lambda k: order[k]):
        pid = meta.at[i, "platform_id"]
        if isinstance(pid, str) and pid:
            by_platform.setdefault(pid, []).append(i)
        if bool(meta.at[i, "is_seed"]):
            by_cascade.setdefault(str(meta.at[i, "cascade_id"]), []).append(i)

    videos: list[dict] = []
    unmatched: list[dict] = []
    first_path: dict[str, str] = {}
    row_video: dict[int, str] = {}
    for path in sorted(Path(p) for p in files):
        stem = path.stem
        shown = display_path(path, root)
        if stem in first_path:
            unmatched.append({"video_id": stem, "path": shown, "reason": f"duplicate video_id (same stem as {first_path[stem]})"})
            continue
        rows, how = _lookup(stem, by_platform, by_cascade)
        if not rows:
            unmatched.append({"video_id": stem, "path": shown, "reason": "no metadata row with this platform id or cascade id"})
            continue
        first_path[stem] = shown
        chosen = meta.loc[rows[0]]
        cascades = list(dict.fromkeys(str(meta.at[i, "cascade_id"]) for i in rows))
        labels = {str(meta.at[i, "label_raw"]) for i in rows}
        videos.append(
            {
                "video_id": stem,
                "path": shown,
                "cascade_id": chosen["cascade_id"],
                "cascade_ids": ",".join(cascades),
                "row_id": chosen["row_id"],
                "source": chosen["source"],
                "video_url": chosen["video_url"],
                "platform": chosen["platform"],
                "platform_id": chosen["platform_id"],
                "label_raw": chosen["label_raw"],
                "label": chosen["label"],
                "is_seed": bool(chosen["is_seed"]),
                "label_conflict": len(labels) > 1,
                "matched_by": how,
                "n_rows": len(rows),
            }
        )
        for i in rows:
            row_video.setdefault(i, stem)

    meta["video_id"] = pd.Series([row_video.get(i) for i in range(len(meta))], dtype="string")
    vdf = pd.DataFrame(videos, columns=VIDEOS_COLUMNS)
    vdf["label"] = vdf["label"].astype("Int64")
    vdf["is_seed"] = vdf["is_seed"].astype(bool)
    vdf["label_conflict"] = vdf["label_conflict"].astype(bool)
    vdf["n_rows"] = vdf["n_rows"].astype("int64")
    for col in ("video_id", "path", "cascade_id", "cascade_ids", "row_id", "source", "video_url",
                "platform", "platform_id", "label_raw", "matched_by"):
        vdf[col] = vdf[col].astype("string")
    udf = pd.DataFrame(unmatched, columns=UNMATCHED_COLUMNS).astype("string")
    return MatchResult(metadata=meta, videos=vdf, unmatched=udf)


def _lookup(stem: str, by_platform: dict, by_cascade: dict) -> tuple[list[int], str]:
    if stem in by_platform:
        return by_platform[stem], "platform_id"
    m = _BRACKET_ID_RE.search(stem)
    if m and m.group(1) in by_platform:
        return by_platform[m.group(1)], "platform_id"
    if CASCADE_RE.match(stem) and stem in by_cascade:
        return by_cascade[stem], "cascade_id"
    return [], ""
