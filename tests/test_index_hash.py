"""The index hashes each file during its single demux read: the digest is the file's plain sha256."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest

from fvc.data.hashread import HashingReader
from fvc.data.index import probe_video
from fvc.video.encode import Encoder


@pytest.mark.parametrize("suffix, codec", [(".mp4", "libx264"), (".mkv", "libx264"), (".webm", "libvpx-vp9")])
def test_probe_sha256_is_the_files_digest(tmp_path, suffix, codec):
    path = tmp_path / f"v{suffix}"
    rng = np.random.default_rng(0)
    with Encoder(path, 10, 64, 48, codec=codec) as vw:
        for _ in range(12):
            vw.write(rng.integers(0, 255, (48, 64, 3), np.uint8))
    probe = probe_video(path)
    assert probe["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert probe["frame_count"] == 12 and probe["rotation"] == 0


def test_hashing_reader_with_jumps_and_rereads():
    data = bytes(range(256)) * 1000
    r = HashingReader(io.BytesIO(data), chunk=1000)
    buf = bytearray(300)
    r.readinto(buf)  # [0, 300)
    r.seek(250_000)
    r.readinto(buf)  # a jump ahead: not hashed now
    r.seek(100)
    r.readinto(buf)  # a re-read straddling the hashed prefix: only [300, 400) is new
    assert r.hashed == 400
    assert r.sha256() == hashlib.sha256(data).hexdigest()
