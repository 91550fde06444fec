"""Safe, resumable extraction of the FVC zip archives (ZipCrypto or AES).

The whole archive is checked before a single byte is written: an unsafe entry
(path traversal, absolute path, symlink), an absurd declared size or ratio
(zip bomb) or a wrong password stops everything with one line naming the
archive and the entry. Extraction streams each member through a temporary
file and renames it into place, so an interrupted run leaves only complete
files; a re-run skips members already on disk with the same size and CRC32.
"""

from __future__ import annotations

import json
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import fast_zip_decryption  # noqa: F401  (patches zipfile with a C ZipCrypto decrypter)
import pyzipper

from ..config import DataConfig
from ..errors import ArchiveError, StorageError
from ..progress import progress_iter
from ..workspace import atomic_path, atomic_write_text

from ..config import ENV_PASSWORD  # noqa: E402  (callers import it from here too)
CHUNK = 1 << 20
# Small members compress well without being bombs (a CSV, a blank frame);
# the ratio test only applies above this declared size.
RATIO_MIN_BYTES = 1 << 20
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


@dataclass
class ExtractReport:
    """What one archive extraction did."""

    archive: str
    dest: str
    extracted: int = 0
    skipped: int = 0
    bytes_written: int = 0
    files: list[Path] = field(default_factory=list)


def _archive_error(archive: Path, problem: str, entry: str | None = None) -> ArchiveError:
    return ArchiveError(archive, f"entry '{entry}': {problem}" if entry else problem)


class ArchiveReader:
    """Reads members of one zip: AES ones through pyzipper, the rest through the standard zipfile.

    The standard zipfile decrypts ZipCrypto with fast-zip-decryption's C
    decrypter (about 50 MB/s instead of about 1 MB/s in pure Python), which
    matters for multi-gigabyte archives like the real FVC ones.
    """

    def __init__(self, path: Path):
        self.path = path
        self._aes = pyzipper.AESZipFile(path, "r")
        try:
            self._std = zipfile.ZipFile(path, "r")
        except BaseException:
            self._aes.close()
            raise
        # Both parse the same central directory; names are unique once validated.
        self._std_info = {i.filename: i for i in self._std.infolist()}

    def infolist(self) -> list[pyzipper.ZipInfo]:
        return self._aes.infolist()

    def open(self, info: pyzipper.ZipInfo, pwd: bytes | None = None):
        if getattr(info, "wz_aes_version", None) is not None:
            return self._aes.open(info, pwd=pwd)
        return self._std.open(self._std_info[info.filename], pwd=pwd)

    def close(self) -> None:
        self._aes.close()
        self._std.close()

    def __enter__(self) -> "ArchiveReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_archive(path: str | Path) -> ArchiveReader:
    """Open a zip (plain, ZipCrypto or AES) for reading, or raise ArchiveError."""
    path = Path(path)
    try:
        return ArchiveReader(path)
    except FileNotFoundError as exc:
        raise _archive_error(path, "file not found") from exc
    except (zipfile.BadZipFile, pyzipper.BadZipFile, OSError, ValueError) as exc:
        raise _archive_error(path, f"not a readable zip archive ({exc})") from exc


def safe_member_path(archive: Path, name: str) -> PurePosixPath:
    """The relative path a member may be extracted to; refuse traversal and absolute paths."""
    if "\x00" in name:
        raise _archive_error(archive, "entry name contains a NUL byte; refusing to extract", name)
    norm = name.replace("\\", "/")
    if norm.startswith("/") or _DRIVE_RE.match(norm):
        raise _archive_error(archive, "absolute path entry; refusing to extract", name)
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise _archive_error(archive, "path traversal entry ('..'); refusing to extract", name)
    if not parts:
        raise _archive_error(archive, "empty entry name; refusing to extract", name)
    return PurePosixPath(*parts)


def is_symlink(info: pyzipper.ZipInfo) -> bool:
    mode = (info.external_attr >> 16) & 0xFFFF
    return stat.S_ISLNK(mode)


def is_encrypted(info: pyzipper.ZipInfo) -> bool:
    return bool(info.flag_bits & 0x1)


def validate_archive(zf: ArchiveReader, archive: Path, limits: DataConfig) -> list[tuple[pyzipper.ZipInfo, PurePosixPath]]:
    """Check every entry before anything is extracted; return the file members to extract."""
    members: list[tuple[pyzipper.ZipInfo, PurePosixPath]] = []
    seen: dict[str, str] = {}
    total = 0
    for info in zf.infolist():
        name = info.filename
        rel = safe_member_path(archive, name)
        if is_symlink(info):
            raise _archive_error(archive, "symlink entry; refusing to extract", name)
        if info.is_dir():
            continue
        key = rel.as_posix().lower()
        if key in seen:
            raise _archive_error(archive, f"duplicate entry (same path as '{seen[key]}')", name)
        seen[key] = name
        size = int(info.file_size)
        if size > limits.max_member_bytes:
            raise _archive_error(
                archive,
                f"declared size {size:,} bytes exceeds data.max_member_bytes={limits.max_member_bytes:,} (zip bomb?)",
                name,
            )
        ratio = size / max(int(info.compress_size), 1)
        if size > RATIO_MIN_BYTES and ratio > limits.max_compression_ratio:
            raise _archive_error(
                archive,
                f"compression ratio {ratio:,.0f}:1 exceeds data.max_compression_ratio={limits.max_compression_ratio:g} (zip bomb?)",
                name,
            )
        total += size
        if total > limits.max_total_bytes:
            raise _archive_error(
                archive,
                f"total declared size exceeds data.max_total_bytes={limits.max_total_bytes:,} (zip bomb?)",
                name,
            )
        members.append((info, rel))
    folders = {parent.as_posix().lower() for _, rel in members for parent in rel.parents}
    for info, rel in members:
        if rel.as_posix().lower() in folders:
            raise _archive_error(archive, "entry is both a file and a folder of other entries", info.filename)
    return members


def check_password(zf: ArchiveReader, archive: Path, members: list, password: str | None) -> bytes | None:
    """Verify the password on the smallest encrypted member (read whole, so the CRC/HMAC is checked)."""
    encrypted = [info for info, _ in members if is_encrypted(info)]
    if not encrypted:
        return None
    if not password:
        raise _archive_error(archive, f"archive is encrypted; pass --password or set {ENV_PASSWORD}")
    pwd = password.encode("utf-8")
    probe = min(encrypted, key=lambda i: i.file_size)
    try:
        with zf.open(probe, pwd=pwd) as fh:
            while fh.read(CHUNK):
                pass
    except RuntimeError as exc:
        if "password" in str(exc).lower():
            raise _archive_error(archive, "wrong password") from exc
        raise _archive_error(archive, f"cannot decrypt ({exc})", probe.filename) from exc
    except (zipfile.BadZipFile, pyzipper.BadZipFile, zlib.error, EOFError) as exc:
        # ZipCrypto's one-byte check passes 1 time in 256 with a wrong password;
        # the CRC/HMAC (or the inflater) then fails.
        raise _archive_error(archive, f"wrong password (decrypted data fails its check: {exc})") from exc
    except NotImplementedError as exc:
        raise _archive_error(archive, f"unsupported compression ({exc})", probe.filename) from exc
    return pwd


def file_crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            crc = zlib.crc32(block, crc)
    return crc & 0xFFFFFFFF


def header_crc(info: pyzipper.ZipInfo) -> int | None:
    """The CRC32 the archive declares, or None: WinZip AE-2 members store 0 (the HMAC replaces it)."""
    if getattr(info, "wz_aes_version", None) == 2:
        return None
    return info.CRC & 0xFFFFFFFF


class Manifest:
    """CRC32 of members this code extracted, for members whose header carries none (AES AE-2).

    Kept as ``.fvc-extract-<archive>.json`` in the destination, flushed every
    few members, so a resumed run can verify files extracted before a crash.
    """

    FLUSH_EVERY = 64

    def __init__(self, dest: Path, archive: Path):
        self.path = dest / f".fvc-extract-{archive.name}.json"
        self.entries: dict[str, dict] = {}
        self._dirty = 0
        if self.path.exists():
            try:
                self.entries = dict(json.loads(self.path.read_text(encoding="utf-8")))
            except (ValueError, TypeError, OSError):
                self.entries = {}  # unreadable manifest: members are simply re-extracted

    @staticmethod
    def _key(info) -> dict:
        return {"size": int(info.file_size), "compress_size": int(info.compress_size), "date_time": list(info.date_time)}

    def expected_crc(self, info) -> int | None:
        entry = self.entries.get(info.filename)
        if entry and {k: entry.get(k) for k in ("size", "compress_size", "date_time")} == self._key(info):
            return int(entry["crc"])
        return None

    def record(self, info, crc: int) -> None:
        self.entries[info.filename] = {**self._key(info), "crc": crc}
        self._dirty += 1
        if self._dirty >= self.FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._dirty:
            atomic_write_text(self.path, json.dumps(self.entries, sort_keys=True))
            self._dirty = 0


def is_complete(path: Path, info: pyzipper.ZipInfo, manifest: Manifest | None = None) -> bool:
    """True when ``path`` already holds this member: same size and CRC32."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size != info.file_size:
            return False
    except OSError:
        return False
    expected = header_crc(info)
    if expected is None and manifest is not None:
        expected = manifest.expected_crc(info)
    if expected is None:
        return False  # nothing to verify against: extract again rather than trust it
    return file_crc32(path) == expected


def _remove_stale_temps(dest_root: Path, targets: set[Path]) -> int:
    """Delete temp files a killed run left (atomic_path names them ``.<name>.<random>.tmp``)."""
    removed = 0
    for tmp in dest_root.rglob(".*.tmp"):
        name = tmp.name[1:-4].rsplit(".", 1)[0]
        if tmp.is_file() and tmp.parent / name in targets:
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def _extract_member(zf, archive: Path, info, target: Path, pwd: bytes | None) -> tuple[int, int]:
    """Stream one member to a temp file beside ``target``; return (bytes, crc32)."""
    written = 0
    crc = 0
    declared = int(info.file_size)
    try:
        with atomic_path(target) as tmp, zf.open(info, pwd=pwd) as src, tmp.open("wb") as out:
            while block := src.read(CHUNK):
                written += len(block)
                if written > declared:
                    raise _archive_error(
                        archive, f"entry expands beyond its declared size of {declared:,} bytes (zip bomb?)", info.filename
                    )
                out.write(block)
                crc = zlib.crc32(block, crc)
            if written != declared:
                raise _archive_error(archive, f"entry is truncated ({written:,} of {declared:,} bytes)", info.filename)
    except RuntimeError as exc:
        raise _archive_error(archive, f"cannot decrypt ({exc})", info.filename) from exc
    except (zipfile.BadZipFile, pyzipper.BadZipFile, zlib.error, EOFError) as exc:
        raise _archive_error(archive, f"corrupt entry ({exc})", info.filename) from exc
    except NotImplementedError as exc:
        raise _archive_error(archive, f"unsupported compression ({exc})", info.filename) from exc
    except OSError as exc:  # disk full, permission denied, ...
        raise _archive_error(archive, f"cannot write {target} ({exc.strerror or exc})", info.filename) from exc
    except StorageError as exc:  # the same, seen by atomic_path while it creates the temp file
        raise _archive_error(archive, f"cannot write {target} ({os.strerror(exc.errno) if exc.errno else exc})",
                             info.filename) from exc
    return written, crc & 0xFFFFFFFF


@dataclass
class PreparedArchive:
    """An archive that passed validation (and the password check), ready to extract."""

    path: Path
    dest: Path
    members: list
    pwd: bytes | None


def prepare_archive(path: str | Path, dest: str | Path, limits: DataConfig, password: str | None) -> PreparedArchive:
    """Validate entries and password without writing anything."""
    path = Path(path)
    with open_archive(path) as zf:
        members = validate_archive(zf, path, limits)
        pwd = check_password(zf, path, members, password)
    return PreparedArchive(path=path, dest=Path(dest), members=members, pwd=pwd)


def extract_prepared(prep: PreparedArchive) -> ExtractReport:
    """Extract a validated archive member by member; members already complete are skipped."""
    report = ExtractReport(archive=str(prep.path), dest=str(prep.dest))
    prep.dest.mkdir(parents=True, exist_ok=True)
    dest_root = prep.dest.resolve()
    members = progress_iter(prep.members, f"extract {prep.path.name}", total=len(prep.members))
    manifest = Manifest(dest_root, prep.path)
    with open_archive(prep.path) as zf:
        try:
            _extract_all(zf, prep, members, dest_root, manifest, report)
        finally:
            manifest.flush()
    return report


def _extract_all(zf, prep: PreparedArchive, members, dest_root: Path, manifest: Manifest, report: ExtractReport) -> None:
    if dest_root.exists():
        _remove_stale_temps(dest_root, {dest_root.joinpath(*rel.parts) for _, rel in prep.members})
    for info, rel in members:
        target = dest_root.joinpath(*rel.parts)
        # Defence in depth: never write outside dest, even through a symlinked folder on disk.
        if not target.parent.resolve().is_relative_to(dest_root):
            raise _archive_error(prep.path, f"entry resolves outside {dest_root}", info.filename)
        if is_complete(target, info, manifest):
            report.skipped += 1
        else:
            if target.is_symlink() or target.is_dir():
                raise _archive_error(prep.path, f"{target} exists and is not a regular file", info.filename)
            written, crc = _extract_member(zf, prep.path, info, target, prep.pwd)
            report.bytes_written += written
            report.extracted += 1
            if header_crc(info) is None:
                manifest.record(info, crc)
        report.files.append(target)


def extract_archive(path: str | Path, dest: str | Path, limits: DataConfig | None = None, password: str | None = None) -> ExtractReport:
    """Validate then extract one archive into ``dest`` (resumable, idempotent)."""
    prep = prepare_archive(path, dest, limits or DataConfig(), password)
    return extract_prepared(prep)


def password_from_env(password: str | None) -> str | None:
    return password if password else os.environ.get(ENV_PASSWORD) or None
