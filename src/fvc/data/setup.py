"""``fvc setup``: turn the FVC archives (or a folder of downloaded videos) into tables.

Two inputs are accepted:

* archive mode: ``FVC*.zip`` (videos) and ``Metadata.zip`` (the CSVs), extracted
  into the workspace after every archive has been validated;
* folder mode: no zips, videos at any depth plus ``FVC.csv`` / ``FVC_dup.csv``;
  the videos are referenced where they are (absolute paths), not copied.

Either way it writes the ``metadata``, ``videos`` and ``unmatched_files`` tables.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..config import FvcConfig
from ..errors import InputError
from ..stages import Stage
from ..workspace import Workspace, atomic_path
from .archives import ExtractReport, extract_prepared, password_from_env, prepare_archive
from .matching import find_videos, is_video_file, match_files
from .metadata import check_label_map, load_metadata

# The source stage: its input is the archives folder, outside the workspace, so it runs whenever
# --archives is given; its tables keep their content keys when nothing changed.
SETUP = Stage("setup", output="videos", inputs=(), config=("data",), version="1")
METADATA_ARCHIVE = "metadata.zip"
CSV_NAMES = ("FVC.csv", "FVC_dup.csv")
GROUND_TRUTH = "ground_truth.csv"  # written by fvc synth beside the archives


@dataclass
class SetupReport:
    """What setup did; ``done``/``skipped`` count extracted/already-present archive members."""

    mode: str  # "archives" or "folder"
    archives: list[ExtractReport] = field(default_factory=list)
    ignored_archives: list[str] = field(default_factory=list)
    rows: int = 0
    rows_matched: int = 0
    rows_without_files: int = 0
    videos: int = 0
    label_conflicts: int = 0
    unmatched_files: list[str] = field(default_factory=list)
    label_counts: dict[str, int] = field(default_factory=dict)

    @property
    def extracted(self) -> int:
        return sum(a.extracted for a in self.archives)

    @property
    def skipped(self) -> int:
        return sum(a.skipped for a in self.archives)

    done = extracted
    failed = 0


def _find_zips(folder: Path) -> tuple[list[Path], Path | None, list[Path]]:
    """(video archives FVC*.zip, Metadata.zip or None, other zips)."""
    videos, meta, other = [], None, []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.suffix.lower() != ".zip":
            continue
        if p.name.lower() == METADATA_ARCHIVE:
            meta = p
        elif p.name.lower().startswith("fvc"):
            videos.append(p)
        else:
            other.append(p)
    return videos, meta, other


def _find_csv_folder(folder: Path, exclude: Path | None = None) -> Path:
    """The folder holding FVC.csv (searched at any depth; exactly one allowed)."""
    hits = [p for p in sorted(folder.rglob("FVC.csv")) if p.is_file()]
    if exclude is not None:
        hits = [p for p in hits if not p.resolve().is_relative_to(exclude.resolve())]
    hits = [p for p in hits if "__MACOSX" not in p.parts]
    if not hits:
        raise InputError(folder, "no FVC.csv found (expected FVC.csv and FVC_dup.csv, or Metadata.zip)")
    if len(hits) > 1:
        listed = ", ".join(str(h) for h in hits[:3])
        raise InputError(folder, f"several FVC.csv files found ({listed}); keep one")
    return hits[0].parent


def _csv_folder_in(archive: Path, files: list[Path]) -> Path:
    """The folder of the one FVC.csv extracted from Metadata.zip."""
    hits = [f for f in files if f.name == "FVC.csv" and "__MACOSX" not in f.parts]
    if len(hits) != 1:
        found = "no" if not hits else f"{len(hits)}"
        raise InputError(archive, f"{found} FVC.csv entries in the archive; expected exactly one")
    return hits[0].parent


def _copy_csvs(src: Path, dest: Path, names: tuple[str, ...] = CSV_NAMES) -> None:
    """Copy the CSVs into the workspace so it is self-contained (atomic, skipped if identical)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in names:
        s = src / name
        if not s.exists():
            continue
        d = dest / name
        if s.resolve() == d.resolve():
            continue
        if d.exists() and d.read_bytes() == s.read_bytes():
            continue
        with atomic_path(d) as tmp:
            shutil.copyfile(s, tmp)


def run_setup(ws: Workspace, cfg: FvcConfig, archives_dir: str | Path, password: str | None = None) -> SetupReport:
    """Extract (or locate) the videos and CSVs, match them, write the three tables."""
    src = Path(archives_dir).expanduser()
    if not src.exists():
        raise InputError(src, "folder not found")
    if not src.is_dir():
        raise InputError(src, "not a folder (pass the folder holding FVC1.zip ... Metadata.zip, or the videos and CSVs)")
    check_label_map(cfg.data.label_map)
    video_zips, meta_zip, other_zips = _find_zips(src)

    password = password_from_env(password)
    report = SetupReport(mode="archives" if video_zips else "folder", ignored_archives=[str(p) for p in other_zips])
    # Validate every archive (entries and password) before extracting any of them,
    # and before the workspace is created: a wrong password leaves nothing behind.
    preps = [prepare_archive(z, ws.raw_dir / z.stem, cfg.data, password) for z in video_zips]
    meta_prep = prepare_archive(meta_zip, ws.metadata_dir, cfg.data, password) if meta_zip else None
    ws.ensure()

    # The CSVs first: a malformed CSV stops setup before gigabytes are extracted.
    if meta_prep is not None:
        meta_rep = extract_prepared(meta_prep)
        report.archives.append(meta_rep)
        csv_dir = _csv_folder_in(meta_zip, meta_rep.files)
    else:
        csv_dir = _find_csv_folder(src, exclude=ws.root)
        _copy_csvs(csv_dir, ws.metadata_dir)
    meta = load_metadata(csv_dir, cfg.data.label_map)
    # a generated corpus (fvc synth) says what each file really is: the report breaks results down by it
    _copy_csvs(src, ws.metadata_dir, (GROUND_TRUTH,))

    if video_zips:
        files: list[Path] = []
        for prep in preps:
            rep = extract_prepared(prep)
            report.archives.append(rep)
            files.extend(f for f in rep.files if is_video_file(f))
    else:
        # Videos the user downloaded: referenced where they are, never copied.
        files = [p.resolve() for p in find_videos(src, exclude=[ws.root])]
        if not files:
            raise InputError(src, "no FVC*.zip archives and no video files found "
                             "(extensions: mp4, webm, mkv, avi, mov, ...)")

    result = match_files(meta, files, ws.root)
    ws.write("metadata", result.metadata)
    SETUP.write(ws, cfg, result.videos)
    ws.write("unmatched_files", result.unmatched)

    report.rows = len(result.metadata)
    report.rows_matched = int(result.metadata["video_id"].notna().sum())
    report.rows_without_files = report.rows - report.rows_matched
    report.videos = len(result.videos)
    report.label_conflicts = int(result.videos["label_conflict"].sum())
    report.unmatched_files = result.unmatched["path"].tolist()
    report.label_counts = {str(k): int(v) for k, v in result.videos["label_raw"].value_counts().sort_index().items()}
    return report
