"""Letterbox geometry: odd sizes, portrait, display rotation, up and down scaling."""

from __future__ import annotations

import av
import numpy as np
import pytest

from fvc.augment.render import EncodeSettings
from fvc.errors import InputError
from fvc.scale.letterbox import check_size, geometry, letterbox_video
from fvc.video.encode import Encoder
from fvc.video.io import iter_frames

LOSSLESS_RGB = {"codec": "libx264rgb", "pix_fmt": "rgb24", "options": {"qp": "0"}}


def write(path, w, h, value=200, rotation=None, frames=3):
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264rgb", rate=10)
        s.width, s.height, s.pix_fmt = w, h, "rgb24"
        s.options = {"qp": "0"}
        if rotation:
            s.set_display_rotation(rotation)
        img = np.full((h, w, 3), value, np.uint8)
        img[: max(2, h // 6), : max(2, w // 6)] = (255, 0, 0)  # red marker top-left as stored
        for _ in range(frames):
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return path


def content_box(img):
    ys, xs = np.nonzero(img.max(axis=2) > 40)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


@pytest.mark.parametrize(
    "w,h,nw,nh",
    [(65, 47, 256, 185), (47, 65, 185, 256), (64, 48, 256, 192), (1920, 1080, 256, 144), (256, 256, 256, 256), (1, 999, 1, 256)],
)
def test_geometry(w, h, nw, nh):
    g = geometry(w, h, 256)
    assert (g.new_width, g.new_height) == (nw, nh)
    assert g.left == (256 - nw) // 2 and g.top == (256 - nh) // 2
    assert g.is_upscaled == (max(w, h) < 256) and g.is_downscaled == (max(w, h) > 256)


def test_check_size():
    assert check_size(256) == 256
    for bad in (255, 8):
        with pytest.raises(InputError, match=rf"--size: must be an even number >= 16 .*got {bad}$"):
            check_size(bad)


def test_odd_portrait_video_upscaled(tmp_path):
    src = write(tmp_path / "p.mp4", 47, 65)
    info = letterbox_video(src, tmp_path / "o.mp4", 128, EncodeSettings(**LOSSLESS_RGB))
    g = info["geometry"]
    assert (g.width, g.height, g.new_width, g.new_height, g.left) == (47, 65, 93, 128, 17) and g.is_upscaled
    frames = [f for _, f in iter_frames(tmp_path / "o.mp4")]
    assert len(frames) == 3 and frames[0].shape == (128, 128, 3)
    assert content_box(frames[0]) == (17, 0, 17 + 93, 128)
    assert frames[0][:, :17].max() == 0 and frames[0][:, 17 + 93 :].max() == 0  # black, centred pads


def test_downscale_landscape(tmp_path):
    src = write(tmp_path / "l.mp4", 320, 240)
    info = letterbox_video(src, tmp_path / "o.mp4", 64, EncodeSettings(**LOSSLESS_RGB))
    assert info["geometry"].is_downscaled
    f = next(iter_frames(tmp_path / "o.mp4"))[1]
    assert content_box(f) == (0, 8, 64, 56)


@pytest.mark.parametrize("rotation,corner", [(90, "bottom-left"), (270, "top-right"), (180, "bottom-right")])
def test_rotation_metadata_applied(tmp_path, rotation, corner):
    src = write(tmp_path / "r.mp4", 64, 48, rotation=rotation)
    info = letterbox_video(src, tmp_path / "o.mp4", 64, EncodeSettings(**LOSSLESS_RGB))
    g = info["geometry"]
    if rotation in (90, 270):
        assert (g.width, g.height, g.new_width, g.new_height) == (48, 64, 48, 64)  # portrait after rotation
    f = next(iter_frames(tmp_path / "o.mp4"))[1]
    x0, y0, x1, y1 = content_box(f)
    assert (x1 - x0, y1 - y0) == (g.new_width, g.new_height)
    red = (f[..., 0] > 200) & (f[..., 1] < 60)
    ys, xs = np.nonzero(red)
    cy, cx = ys.mean(), xs.mean()
    midx, midy = (x0 + x1) / 2, (y0 + y1) / 2
    assert {"bottom-left": cy > midy and cx < midx, "top-right": cy < midy and cx > midx,
            "bottom-right": cy > midy and cx > midx}[corner]


def test_h264_output_even_size(tmp_path):
    src = tmp_path / "s.mp4"
    with Encoder(src, 10, 64, 48) as w:
        for i in range(4):
            w.write(np.full((48, 64, 3), 50 * i, np.uint8))
    info = letterbox_video(src, tmp_path / "o.mp4", 32, EncodeSettings())
    assert info["frames"] == 4
    with av.open(str(tmp_path / "o.mp4")) as c:
        s = c.streams.video[0]
        assert (s.codec_context.width, s.codec_context.height, s.codec_context.name) == (32, 32, "h264")
