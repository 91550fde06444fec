"""Archive safety and resumable extraction, on small zips built here (AES, ZipCrypto, crafted)."""

from __future__ import annotations

import os
import random
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
import pyzipper

from fvc.config import DataConfig
from fvc.data.archives import extract_archive, prepare_archive, safe_member_path
from fvc.errors import ArchiveError

# ---------------------------------------------------------------- zip builders


def write_aes_zip(path: Path, members: dict[str, bytes], password: str | None = "pw") -> Path:
    """AES-256 (WinZip AE-2) archive, or a plain one when password is None."""
    with pyzipper.AESZipFile(path, "w", compression=pyzipper.ZIP_DEFLATED,
                             encryption=pyzipper.WZ_AES if password else None) as zf:
        if password:
            zf.setpassword(password.encode())
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _crc_step(crc: int, byte: int) -> int:
    """One step of the raw CRC-32 table update (no pre/post inversion), as PKWARE's cipher uses it."""
    return zlib.crc32(bytes([byte]), crc ^ 0xFFFFFFFF) ^ 0xFFFFFFFF


def _zc_update(keys: list[int], byte: int) -> None:
    keys[0] = _crc_step(keys[0], byte)
    keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
    keys[2] = _crc_step(keys[2], keys[1] >> 24)


def zipcrypto_encrypt(data: bytes, password: bytes, crc: int, seed: int = 0) -> bytes:
    """PKWARE traditional encryption: 12-byte header (last byte = CRC high byte) + data."""
    keys = [0x12345678, 0x23456789, 0x34567890]
    for b in password:
        _zc_update(keys, b)
    header = bytes(random.Random(seed).randrange(256) for _ in range(11)) + bytes([crc >> 24])
    out = bytearray()
    for plain in header + data:
        t = (keys[2] | 2) & 0xFFFF
        out.append(plain ^ (((t * (t ^ 1)) >> 8) & 0xFF))
        _zc_update(keys, plain)
    return bytes(out)


def write_zipcrypto_zip(path: Path, members: dict[str, bytes], password: str) -> Path:
    """A ZipCrypto archive written by hand (zipfile/pyzipper cannot write this cipher)."""
    local, central = bytearray(), bytearray()
    for i, (name, data) in enumerate(members.items()):
        nb = name.encode()
        crc = zlib.crc32(data)
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        enc = zipcrypto_encrypt(comp.compress(data) + comp.flush(), password.encode(), crc, seed=i)
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x1, 8, 0, 0x21, crc, len(enc), len(data), len(nb), 0)
        local += nb + enc
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 20, 0x1, 8, 0, 0x21, crc, len(enc),
                               len(data), len(nb), 0, 0, 0, 0, (stat.S_IFREG | 0o644) << 16, offset)
        central += nb
    n = len(members)
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), len(local), 0)
    path.write_bytes(bytes(local + central + eocd))
    return path


def write_raw_zip(path: Path, infos: list[tuple[zipfile.ZipInfo, bytes]]) -> Path:
    """Plain zip with hand-made ZipInfo entries (any name, any attributes)."""
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in infos:
            zf.writestr(info, data)
    return path


def patch_declared_size(path: Path, size: int) -> Path:
    """Rewrite the uncompressed size of the only member in both headers: a crafted zip bomb."""
    blob = bytearray(path.read_bytes())
    loc = blob.find(b"PK\x03\x04")
    cen = blob.find(b"PK\x01\x02")
    struct.pack_into("<I", blob, loc + 22, size)
    struct.pack_into("<I", blob, cen + 24, size)
    path.write_bytes(bytes(blob))
    return path


MEMBERS = {
    "clips/a.mp4": os.urandom(3000),
    "clips/b.mp4": b"b" * 2000,
    "c.webm": os.urandom(500),
    "readme.txt": b"hello",
}


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# ---------------------------------------------------------------- happy paths


@pytest.mark.parametrize("kind", ["aes", "zipcrypto", "plain"])
def test_extracts_every_member(tmp_path, kind):
    arc = tmp_path / "FVC1.zip"
    if kind == "aes":
        write_aes_zip(arc, MEMBERS, "s3cret")
    elif kind == "zipcrypto":
        write_zipcrypto_zip(arc, MEMBERS, "s3cret")
    else:
        write_aes_zip(arc, MEMBERS, None)
    dest = tmp_path / "out"
    rep = extract_archive(arc, dest, password="s3cret" if kind != "plain" else None)
    assert (rep.extracted, rep.skipped) == (len(MEMBERS), 0)
    assert rep.bytes_written == sum(len(d) for d in MEMBERS.values())
    for name, data in MEMBERS.items():
        assert (dest / name).read_bytes() == data
    assert not list(dest.rglob("*.tmp"))


def test_zipcrypto_helper_is_real_pkware_encryption(tmp_path):
    """The hand-written cipher must be what other tools read: zipfile (stdlib) decrypts it too."""
    arc = write_zipcrypto_zip(tmp_path / "z.zip", {"x.mp4": b"payload" * 50}, "pw")
    with zipfile.ZipFile(arc) as zf:
        assert zf.infolist()[0].flag_bits & 1
        assert zf.read("x.mp4", pwd=b"pw") == b"payload" * 50


# ---------------------------------------------------------------- unsafe entries


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../evil.mp4", "path traversal"),
        ("clips/../../evil.mp4", "path traversal"),
        ("..\\evil.mp4", "path traversal"),
        ("/etc/evil.mp4", "absolute path"),
        ("C:\\Windows\\evil.mp4", "absolute path"),
        ("c:/evil.mp4", "absolute path"),
    ],
)
def test_unsafe_names_refused_before_anything_is_written(tmp_path, name, problem):
    arc = write_raw_zip(tmp_path / "FVC2.zip", [(zipfile.ZipInfo("good.mp4"), b"ok"), (zipfile.ZipInfo(name), b"x")])
    dest = tmp_path / "out"
    with pytest.raises(ArchiveError) as err:
        extract_archive(arc, dest)
    msg = str(err.value)
    assert "FVC2.zip" in msg and name in msg and problem in msg
    assert "\n" not in msg
    assert files_under(dest) == []  # good.mp4 comes first but was not extracted
    assert not (tmp_path / "evil.mp4").exists()


def test_symlink_entry_refused(tmp_path):
    link = zipfile.ZipInfo("link.mp4")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    arc = write_raw_zip(tmp_path / "FVC1.zip", [(zipfile.ZipInfo("a.mp4"), b"a"), (link, b"/etc/passwd")])
    with pytest.raises(ArchiveError, match=r"FVC1\.zip: entry .link\.mp4.: symlink entry"):
        extract_archive(arc, tmp_path / "out")
    assert files_under(tmp_path / "out") == []


def test_duplicate_entry_refused(tmp_path):
    arc = write_raw_zip(tmp_path / "d.zip", [(zipfile.ZipInfo("a.mp4"), b"1"), (zipfile.ZipInfo("A.MP4"), b"2")])
    with pytest.raises(ArchiveError, match="duplicate entry"):
        extract_archive(arc, tmp_path / "out")


def test_safe_member_path_normalises_harmless_names(tmp_path):
    assert safe_member_path(tmp_path, "./a//b\\c.mp4").as_posix() == "a/b/c.mp4"


# ---------------------------------------------------------------- zip bombs


def _bomb(tmp_path: Path, declared: int) -> Path:
    info = zipfile.ZipInfo("big.mp4")
    info.compress_type = zipfile.ZIP_DEFLATED
    arc = write_raw_zip(tmp_path / "FVC3.zip", [(info, b"\0" * 64)])
    return patch_declared_size(arc, declared)


def test_zip_bomb_ratio_refused(tmp_path):
    arc = _bomb(tmp_path, 3_000_000_000)  # a ~100-byte archive claiming 3 GB
    assert arc.stat().st_size < 300
    with pytest.raises(ArchiveError) as err:
        extract_archive(arc, tmp_path / "out")
    msg = str(err.value)
    assert "FVC3.zip" in msg and "big.mp4" in msg and "compression ratio" in msg and "zip bomb" in msg
    assert files_under(tmp_path / "out") == []


def test_zip_bomb_member_size_refused(tmp_path):
    arc = _bomb(tmp_path, 3_000_000_000)
    limits = DataConfig(max_member_bytes=1_000_000_000, max_compression_ratio=1e12)
    with pytest.raises(ArchiveError, match=r"big\.mp4.*declared size 3,000,000,000 bytes exceeds data\.max_member_bytes"):
        extract_archive(arc, tmp_path / "out", limits)


def test_zip_bomb_total_size_refused(tmp_path):
    arc = write_aes_zip(tmp_path / "t.zip", {f"v{i}.mp4": os.urandom(4000) for i in range(3)}, None)
    limits = DataConfig(max_total_bytes=10_000)
    with pytest.raises(ArchiveError, match=r"entry .v2\.mp4.: total declared size exceeds data\.max_total_bytes"):
        extract_archive(arc, tmp_path / "out", limits)
    assert files_under(tmp_path / "out") == []


def test_member_larger_than_declared_is_stopped(tmp_path):
    """A header that under-declares the size: extraction stops, no partial file is left."""
    info = zipfile.ZipInfo("liar.mp4")
    info.compress_type = zipfile.ZIP_DEFLATED
    arc = patch_declared_size(write_raw_zip(tmp_path / "l.zip", [(info, os.urandom(5000))]), 100)
    with pytest.raises(ArchiveError, match=r"l\.zip: entry .liar\.mp4."):
        extract_archive(arc, tmp_path / "out")
    assert files_under(tmp_path / "out") == []


# ---------------------------------------------------------------- passwords


@pytest.mark.parametrize("writer", [write_aes_zip, write_zipcrypto_zip])
def test_wrong_password(tmp_path, writer):
    arc = writer(tmp_path / "FVC1.zip", MEMBERS, "right")
    with pytest.raises(ArchiveError) as err:
        extract_archive(arc, tmp_path / "out", password="wrong")
    msg = str(err.value)
    assert "FVC1.zip" in msg and "wrong password" in msg and "\n" not in msg
    assert files_under(tmp_path / "out") == []


@pytest.mark.parametrize("writer", [write_aes_zip, write_zipcrypto_zip])
def test_missing_password(tmp_path, writer):
    arc = writer(tmp_path / "FVC1.zip", MEMBERS, "right")
    with pytest.raises(ArchiveError, match=r"FVC1\.zip: archive is encrypted; pass --password or set FVC_ARCHIVE_PASSWORD"):
        extract_archive(arc, tmp_path / "out", password=None)


def test_not_a_zip(tmp_path):
    bad = tmp_path / "FVC1.zip"
    bad.write_text("this is not a zip")
    with pytest.raises(ArchiveError, match=r"FVC1\.zip: not a readable zip archive"):
        prepare_archive(bad, tmp_path / "out", DataConfig(), None)


# ---------------------------------------------------------------- resume / idempotence


def _age(paths: list[Path]) -> None:
    for p in paths:
        os.utime(p, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))


def test_resume_redoes_only_damaged_members(tmp_path):
    arc = write_aes_zip(tmp_path / "FVC1.zip", MEMBERS, "pw")
    dest = tmp_path / "out"
    extract_archive(arc, dest, password="pw")
    files = files_under(dest)
    _age(files)
    old = {p: p.stat().st_mtime_ns for p in files}

    truncated = dest / "clips/a.mp4"
    with truncated.open("r+b") as fh:  # an extraction killed half-way
        fh.truncate(1000)
    flipped = dest / "c.webm"  # same size, different content: caught by the CRC
    data = bytearray(flipped.read_bytes())
    data[10] ^= 0xFF
    flipped.write_bytes(bytes(data))
    (dest / "clips/.b.mp4.x1y2.tmp").write_bytes(b"stale temp file of a killed run")
    (dest / "readme.txt").unlink()

    rep = extract_archive(arc, dest, password="pw")
    assert (rep.extracted, rep.skipped) == (3, 1)
    for name, content in MEMBERS.items():
        assert (dest / name).read_bytes() == content
    assert (dest / "clips/b.mp4").stat().st_mtime_ns == old[dest / "clips/b.mp4"]
    assert not list(dest.rglob("*.tmp"))

    again = extract_archive(arc, dest, password="pw")
    assert (again.extracted, again.skipped) == (0, len(MEMBERS))
    assert again.bytes_written == 0


def test_aes2_members_without_manifest_are_not_trusted(tmp_path):
    """AE-2 headers carry no CRC: without our manifest a same-size file cannot be verified, so it is redone."""
    arc = write_aes_zip(tmp_path / "FVC1.zip", MEMBERS, "pw")
    dest = tmp_path / "out"
    extract_archive(arc, dest, password="pw")
    manifest = dest / ".fvc-extract-FVC1.zip.json"
    assert manifest.exists()
    manifest.unlink()
    rep = extract_archive(arc, dest, password="pw")
    assert (rep.extracted, rep.skipped) == (len(MEMBERS), 0)


def test_zipcrypto_resume_uses_header_crc(tmp_path):
    arc = write_zipcrypto_zip(tmp_path / "FVC2.zip", MEMBERS, "pw")
    dest = tmp_path / "out"
    extract_archive(arc, dest, password="pw")
    assert not (dest / ".fvc-extract-FVC2.zip.json").exists()  # header CRCs suffice
    target = dest / "clips/b.mp4"
    target.write_bytes(b"B" * 2000)  # same size, wrong content
    rep = extract_archive(arc, dest, password="pw")
    assert (rep.extracted, rep.skipped) == (1, len(MEMBERS) - 1)
    assert target.read_bytes() == MEMBERS["clips/b.mp4"]


def test_zipcrypto_uses_the_c_decrypter():
    """ZipCrypto in pure Python runs at ~1 MB/s; the real FVC archives are gigabytes."""
    import fvc.data.archives  # noqa: F401  (importing it installs the fast decrypter)

    assert zipfile._ZipDecrypter.__module__ != "zipfile"


def test_interrupted_run_resumes_where_it_stopped(tmp_path, monkeypatch):
    """Ctrl-C in the middle: finished members are kept (and verifiable), no temp file is left."""
    import fvc.data.archives as archives

    arc = write_aes_zip(tmp_path / "FVC1.zip", MEMBERS, "pw")
    dest = tmp_path / "out"
    real = archives._extract_member
    calls = []

    def interrupt_third(*args, **kw):
        calls.append(args[2].filename)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(archives, "_extract_member", interrupt_third)
    with pytest.raises(KeyboardInterrupt):
        extract_archive(arc, dest, password="pw")
    monkeypatch.setattr(archives, "_extract_member", real)
    assert len(files_under(dest)) == 2 + 1  # two members + the manifest
    rep = extract_archive(arc, dest, password="pw")
    assert (rep.extracted, rep.skipped) == (len(MEMBERS) - 2, 2)
    for name, content in MEMBERS.items():
        assert (dest / name).read_bytes() == content


def test_file_and_folder_with_the_same_path_refused(tmp_path):
    arc = write_raw_zip(tmp_path / "x.zip", [(zipfile.ZipInfo("a.mp4"), b"1"), (zipfile.ZipInfo("a.mp4/b.mp4"), b"2")])
    with pytest.raises(ArchiveError, match=r"x\.zip: entry 'a\.mp4': entry is both a file and a folder"):
        extract_archive(arc, tmp_path / "out")


def test_write_failure_is_a_clear_error(tmp_path):
    """An OSError while writing (here: a file where a folder must go) is one line, not a traceback."""
    arc = write_aes_zip(tmp_path / "FVC1.zip", {"sub/v.mp4": b"data"}, None)
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "sub").write_bytes(b"in the way")
    with pytest.raises(ArchiveError, match=r"FVC1\.zip: entry 'sub/v\.mp4': cannot write .*sub/v\.mp4"):
        extract_archive(arc, dest)
