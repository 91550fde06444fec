"""Password-protected zips like the FVC's: WinZip AES (pyzipper) and legacy ZipCrypto.

pyzipper writes AES only; the real FVC archives are likely ZipCrypto, so a
small writer for the traditional PKWARE encryption (APPNOTE 6.1) is here,
giving readers both code paths to handle.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pyzipper

from ...workspace import atomic_path

_CRC_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0xEDB88320 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


class _ZipCryptoCipher:
    """The PKWARE stream cipher: three keys updated by every plaintext byte."""

    def __init__(self, password: bytes):
        self.k0, self.k1, self.k2 = 0x12345678, 0x23456789, 0x34567890
        for b in password:
            self._update(b)

    def _update(self, b: int) -> None:
        t = _CRC_TABLE
        self.k0 = (self.k0 >> 8) ^ t[(self.k0 ^ b) & 0xFF]
        self.k1 = ((self.k1 + (self.k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        self.k2 = (self.k2 >> 8) ^ t[(self.k2 ^ (self.k1 >> 24)) & 0xFF]

    def encrypt(self, data: bytes) -> bytes:
        t = _CRC_TABLE
        k0, k1, k2 = self.k0, self.k1, self.k2
        out = bytearray(len(data))
        for i, p in enumerate(data):
            tmp = (k2 | 2) & 0xFFFF
            out[i] = p ^ (((tmp * (tmp ^ 1)) >> 8) & 0xFF)
            k0 = (k0 >> 8) ^ t[(k0 ^ p) & 0xFF]
            k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
            k2 = (k2 >> 8) ^ t[(k2 ^ (k1 >> 24)) & 0xFF]
        self.k0, self.k1, self.k2 = k0, k1, k2
        return bytes(out)


def write_zipcrypto(path: str | Path, files: list[Path], password: str, header_seed: int = 0) -> Path:
    """A zip of ``files`` (stored flat, deflated) encrypted with ZipCrypto."""
    pwd = password.encode("utf-8")
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        central = []
        for f in files:
            data = f.read_bytes()
            crc = zlib.crc32(data) & 0xFFFFFFFF
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            body = comp.compress(data) + comp.flush()
            cipher = _ZipCryptoCipher(pwd)
            rnd = zlib.crc32(f"{header_seed}:{f.name}".encode()).to_bytes(4, "little") * 3
            header = cipher.encrypt(rnd[:11] + bytes([crc >> 24]))
            enc = header + cipher.encrypt(body)
            name = f.name.encode("utf-8")
            offset = fh.tell()
            # version 2.0, flag bit 0 (encrypted) + bit 11 (UTF-8 name), deflate, fixed DOS time (1/1/2017)
            fields = (20, 0x0801, 8, 0, (37 << 9) | (1 << 5) | 1, crc, len(enc), len(data), len(name), 0)
            fh.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields) + name + enc)
            central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, 0, 0, 0, 0, offset) + name)
        start = fh.tell()
        cd = b"".join(central)
        fh.write(cd)
        fh.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(files), len(files), len(cd), start, 0))
    return Path(path)


def write_aes(path: str | Path, files: list[Path], password: str) -> Path:
    """A zip of ``files`` (stored flat) encrypted with WinZip AES-256."""
    with atomic_path(path) as tmp:
        with pyzipper.AESZipFile(tmp, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as zf:
            zf.setpassword(password.encode("utf-8"))
            for f in files:
                zf.write(f, arcname=f.name)
    return Path(path)


def write_plain(path: str | Path, members: dict[str, bytes]) -> Path:
    """An unencrypted zip of in-memory files (the metadata archive)."""
    with atomic_path(path) as tmp:
        with pyzipper.ZipFile(tmp, "w", compression=pyzipper.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                info = pyzipper.ZipInfo(name, date_time=(2017, 1, 1, 0, 0, 0))
                info.compress_type = pyzipper.ZIP_DEFLATED
                zf.writestr(info, data)
    return Path(path)


def write_archive(path: str | Path, files: list[Path], password: str, method: str) -> Path:
    """Write one video archive with the given encryption (``aes`` or ``zipcrypto``)."""
    if method == "zipcrypto":
        return write_zipcrypto(path, files, password, header_seed=os.path.getsize(files[0]) if files else 0)
    return write_aes(path, files, password)
