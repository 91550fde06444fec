"""A file reader that hashes the bytes as the demuxer reads them, so the index reads each file once.

The demuxer reads mostly in order but may jump (an MP4 index at the end);
bytes are hashed only while the reads continue the hashed prefix, and the
hash is completed from the file afterwards for whatever it skipped, so the
digest is always the plain sha256 of the file.
"""

from __future__ import annotations

import hashlib
import io
from typing import BinaryIO


class HashingReader(io.RawIOBase):
    """Wraps a binary file; ``sha256()`` after the reads gives the file's digest."""

    def __init__(self, fh: BinaryIO, chunk: int = 1 << 20):
        self.fh, self.chunk = fh, chunk
        self._h = hashlib.sha256()
        self.hashed = 0  # bytes [0, hashed) are in the digest
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.pos = self.fh.seek(offset, whence)
        return self.pos

    def readinto(self, buf) -> int:
        n = self.fh.readinto(buf)
        if n and self.pos <= self.hashed < self.pos + n:
            self._h.update(memoryview(buf)[self.hashed - self.pos: n])
            self.hashed = self.pos + n
        self.pos += n or 0
        return n

    def sha256(self) -> str:
        """Hex digest of the whole file: the hashed prefix, then the rest read here."""
        self.fh.seek(self.hashed)
        while block := self.fh.read(self.chunk):
            self._h.update(block)
            self.hashed += len(block)
        self.pos = self.hashed
        return self._h.hexdigest()
