"""The FVC metadata CSVs (``FVC.csv``, ``FVC_dup.csv``): loading, platform ids, labels.

Files downloaded from YouTube, Facebook or Twitter are usually named by the
platform's video id, and seed videos sometimes by their cascade id
(``f14.mp4``), so each row gets the keys a file name can be matched on.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from ..config import KNOWN_LABELS, DataConfig
from ..errors import InputError

REQUIRED_COLUMNS = ("cascade_id", "video_url", "label")
CSV_SOURCES = {"FVC.csv": "FVC", "FVC_dup.csv": "FVC_dup"}
CASCADE_RE = re.compile(r"^[fr]\d+$")

_PLATFORM_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("youtube", re.compile(r"youtube\.com/.*[?&]v=([A-Za-z0-9_-]{6,})")),
    ("youtube", re.compile(r"youtu\.be/([A-Za-z0-9_-]{6,})")),
    ("youtube", re.compile(r"youtube\.com/(?:shorts|embed)/([A-Za-z0-9_-]{6,})")),
    ("facebook", re.compile(r"facebook\.com/.*?/videos/(?:[^/]+/)?(\d+)")),
    ("facebook", re.compile(r"facebook\.com/.*[?&]v=(\d+)")),
    ("twitter", re.compile(r"(?:twitter|x)\.com/[^/]+/status(?:es)?/(\d+)")),
]


def parse_platform_id(url: str) -> tuple[str, str | None]:
    """Return ``(platform, id)`` for a video URL; ``("other", None)`` if unknown."""
    for platform, pattern in _PLATFORM_PATTERNS:
        m = pattern.search(url)
        if m:
            return platform, m.group(1)
    return "other", None


def _csv_cause(exc: csv.Error) -> str:
    """The real cause behind the csv module's terse messages."""
    text = str(exc)
    if "unexpected end of data" in text:
        return "unterminated quote: the quoted field opened on this line never closes"
    if "field larger than field limit" in text:
        return f"a field runs past {csv.field_size_limit()} characters: an unterminated quote on this line?"
    if "expected after" in text:
        return "text after a closing quote (quote the whole field and double any quote inside it)"
    if "NUL" in text:
        return "contains a NUL byte (not a text CSV)"
    return f"malformed CSV ({text})"


def _read_records(path: Path) -> list[tuple[int, list[str]]]:
    """``(line where the record starts, fields)`` per non-blank record, strictly parsed."""
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, strict=True)
            for fields in reader:
                if fields:
                    records.append((start, fields))
                start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text ({exc.reason})") from exc
    except csv.Error as exc:
        raise InputError(f"{path}:{start}", _csv_cause(exc)) from exc
    return records


def _check_header(path: Path, header: list[str]) -> None:
    seen: dict[str, int] = {}
    for name in header:
        seen[name] = seen.get(name, 0) + 1
    duplicated = [name or "(empty)" for name, n in seen.items() if n > 1]
    if duplicated:
        raise InputError(path, f"duplicate column(s) {', '.join(duplicated)}; expected {','.join(REQUIRED_COLUMNS)}")
    unknown = [name or "(empty)" for name in header if name not in REQUIRED_COLUMNS]
    if unknown:
        raise InputError(path, f"unknown column(s) {', '.join(unknown)}; expected {','.join(REQUIRED_COLUMNS)}")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(path, f"missing column(s) {', '.join(missing)}; expected {','.join(REQUIRED_COLUMNS)}")


def read_metadata_csv(path: str | Path, label_map: dict[str, int | None] | None = None) -> pd.DataFrame:
    """Read one FVC-format CSV into a typed table, or raise a one-line InputError.

    The header must name exactly ``cascade_id,video_url,label`` (any order);
    every record must have one field per column. Errors name the file and line.
    """
    path = Path(path)
    label_map = label_map if label_map is not None else DataConfig().label_map
    records = _read_records(path)
    if not records:
        raise InputError(path, f"empty file; expected a header {','.join(REQUIRED_COLUMNS)}")
    header = [h.strip() for h in records[0][1]]
    _check_header(path, header)
    raw_rows: list[tuple[int, dict[str, str]]] = []
    for line, fields in records[1:]:
        if len(fields) != len(header):
            hint = " (an unquoted comma inside a field?)" if len(fields) > len(header) else ""
            raise InputError(f"{path}:{line}", f"{len(fields)} fields, expected {len(header)}{hint}")
        raw_rows.append((line, {k: v.strip() for k, v in zip(header, fields)}))

    source = CSV_SOURCES.get(path.name, path.stem)
    rows = []
    for k, (line_no, r) in enumerate(raw_rows):
        label_raw = r["label"].lower()
        if label_raw not in label_map:
            known = ", ".join(sorted(label_map))
            raise InputError(f"{path}:{line_no}", f"unknown label '{r['label']}' (known: {known})")
        if not r["cascade_id"]:
            raise InputError(f"{path}:{line_no}", "empty cascade_id")
        platform, platform_id = parse_platform_id(r["video_url"])
        rows.append(
            {
                "row_id": f"{source}:{k}",
                "source": source,
                "cascade_id": r["cascade_id"],
                "video_url": r["video_url"],
                "platform": platform,
                "platform_id": platform_id,
                "label_raw": label_raw,
                "label": label_map[label_raw],
                "is_seed": source == "FVC",
            }
        )
    df = pd.DataFrame(rows, columns=[
        "row_id", "source", "cascade_id", "video_url", "platform", "platform_id", "label_raw", "label", "is_seed",
    ])
    df["label"] = df["label"].astype("Int64")
    return df


def load_metadata(folder: str | Path, label_map: dict[str, int | None] | None = None) -> pd.DataFrame:
    """Load ``FVC.csv`` and (if present) ``FVC_dup.csv`` from a folder."""
    folder = Path(folder)
    main = folder / "FVC.csv"
    if not main.exists():
        raise InputError(folder, "no FVC.csv found (expected FVC.csv and FVC_dup.csv)")
    tables = [read_metadata_csv(main, label_map)]
    dup = folder / "FVC_dup.csv"
    if dup.exists():
        tables.append(read_metadata_csv(dup, label_map))
    return pd.concat(tables, ignore_index=True)


def check_label_map(label_map: dict[str, int | None]) -> None:
    for name in KNOWN_LABELS:
        if name not in label_map:
            raise InputError("fvc.yaml", f"data.label_map has no entry for label '{name}'")
