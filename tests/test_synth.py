"""fvc synth: layout, passwords, labels and cascades, determinism, formats, manipulations, no shortcut."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile

import cv2
import numpy as np
import pandas as pd
import pyzipper
import pytest

from fvc.data.metadata import parse_platform_id
from fvc.data.synth import build_corpus, plan_corpus
from fvc.data.synth.corpus import SizeOptions
from fvc.data.synth.encode import decode_frames
from dataclasses import replace

from fvc.data.synth.manipulations import (MANIPULATIONS, FakeSpec, apply_inpaint, apply_overlay, apply_splice,
                                          region_mask, speed_map, timeline_map)
from fvc.data.synth.render import _source_frames
from fvc.data.synth.scenes import camera_pose, draw_scene, load_image, render_frame, scene_texture
from fvc.errors import InputError

TINY = {"max_height": 48, "max_duration": 0.8, "workers": 1}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    manifest = build_corpus(out, n_videos=24, seed=3, password="pw", keep_videos=True, **TINY)
    return out, manifest


def _csv(out, name):
    with zipfile.ZipFile(out / "Metadata.zip") as zf:
        return pd.read_csv(io.BytesIO(zf.read(name)))


def test_layout_and_csvs(corpus):
    out, manifest = corpus
    for name in ("FVC1.zip", "FVC2.zip", "FVC3.zip", "Metadata.zip", "ground_truth.csv"):
        assert (out / name).is_file()
    fvc, dup = _csv(out, "FVC.csv"), _csv(out, "FVC_dup.csv")
    assert list(fvc.columns) == list(dup.columns) == ["cascade_id", "video_url", "label"]
    assert len(fvc) + len(dup) == len(manifest) == 24
    assert fvc.cascade_id.is_unique and set(fvc.label) == {"fake", "real"}
    assert fvc.cascade_id.str.match(r"^[fr]\d+$").all()
    assert set(dup.cascade_id) <= set(fvc.cascade_id)
    gt = pd.read_csv(out / "ground_truth.csv")
    assert {"file_name", "cascade_id", "label_raw", "role", "manipulation", "near_dup_transform", "container",
            "codec", "width", "height", "fps", "duration"} <= set(gt.columns)


def test_file_names_match_the_metadata_parser(corpus):
    _, m = corpus
    for _, row in m.iterrows():
        platform, pid = parse_platform_id(row.video_url)
        assert platform in ("youtube", "facebook", "twitter")
        stem = row.file_name.rsplit(".", 1)[0]
        assert stem == pid or (stem == row.cascade_id and row.source == "FVC")


def test_archives_need_the_password_and_hold_every_video(corpus):
    out, m = corpus
    names, methods = set(), set()
    for a in ("FVC1.zip", "FVC2.zip", "FVC3.zip"):
        with pyzipper.AESZipFile(out / a) as zf:
            infos = zf.infolist()
            assert infos and all(i.flag_bits & 1 for i in infos)
            with zipfile.ZipFile(out / a) as raw:  # the stdlib shows the raw method: 99 = WinZip AES
                methods.add("aes" if raw.infolist()[0].compress_type == 99 else "zipcrypto")
            with pytest.raises(RuntimeError, match="password"):
                zf.read(infos[0].filename)  # no password
            zf.setpassword(b"wrong")
            with pytest.raises(RuntimeError, match="Bad password"):
                zf.read(infos[0].filename)
            zf.setpassword(b"pw")
            data = zf.read(infos[0].filename)
            assert data == (out / "videos" / infos[0].filename).read_bytes()
            names |= {i.filename for i in infos}
    assert names == set(m.file_name)
    assert methods == {"aes", "zipcrypto"}


def test_labels_and_cascades(corpus):
    _, m = corpus
    seeds = m[m.source == "FVC"]
    assert (seeds.label_raw == seeds.cascade_id.str[0].map({"f": "fake", "r": "real"})).all()
    assert (seeds.role == "original").all()
    assert ((seeds.label_raw == "fake") == (seeds.manipulation != "none")).all()
    dups = m[m.role == "near_duplicate"]
    parent_label = dups.parent.map(dict(zip(m.file_name, m.label_raw)))
    assert (dups.cascade_id == dups.parent.map(dict(zip(m.file_name, m.cascade_id)))).all()
    plain = dups.label_raw.isin(["fake", "real"])
    assert (dups.label_raw[plain] == parent_label[plain]).all()


def test_plan_has_heavy_tails_extra_labels_and_source_footage():
    jobs = plan_corpus(400, 1, SizeOptions(max_height=48, max_duration=1.0))
    sizes = pd.Series([j.cascade_id for j in jobs]).value_counts()
    assert sizes.max() >= 4 * sizes.median()
    labels = {j.label_raw for j in jobs}
    assert {"uncertain", "debunked", "parody"} & labels
    assert any(j.label_raw == "real" and j.cascade_id.startswith("f") for j in jobs)
    assert len({j.file_name for j in jobs}) == len(jobs)


def test_formats_mix():
    jobs = plan_corpus(300, 2)
    assert {j.encode.container for j in jobs} == {"mp4", "webm", "mkv", "avi"}
    heights = [min(j.encode.width, j.encode.height) for j in jobs]
    assert min(heights) <= 144 and max(heights) >= 480
    fps = [float(j.encode.fps) for j in jobs]
    assert min(fps) >= 15 and max(fps) <= 30
    seeds = [j for j in jobs if j.parent is None]
    durations = [j.n_frames / float(j.encode.fps) for j in seeds]
    assert min(durations) >= 1.9 and max(durations) <= 8.1
    assert 0.2 < np.mean([j.encode.audio for j in jobs]) < 0.8


def test_codecs_and_audio_in_files(corpus):
    _, m = corpus
    assert set(m.codec) <= {"h264", "vp9", "hevc", "mpeg4"}
    assert len(set(m.codec)) >= 3
    assert m.has_audio.any() and not m.has_audio.all()
    assert (m.frames > 0).all()


def test_same_seed_same_metadata_and_frames(corpus, tmp_path):
    out, m = corpus
    # A fresh process, as a user's second run would be.
    code = ("from fvc.data.synth import build_corpus; "
            f"build_corpus({str(tmp_path)!r}, n_videos=24, seed=3, password='pw', keep_videos=True, **{TINY!r})")
    subprocess.run([sys.executable, "-c", code], check=True)
    m2 = pd.read_csv(tmp_path / "ground_truth.csv").assign(path=lambda d: [str(tmp_path / "videos" / f) for f in d.file_name])
    m = pd.read_csv(out / "ground_truth.csv").assign(path=list(m.path))
    assert _csv(out, "FVC_dup.csv").equals(_csv(tmp_path, "FVC_dup.csv"))
    assert m.drop(columns="path").equals(m2.drop(columns="path"))
    # Every file, originals and near-duplicates, built here (a busy process that already built
    # the fixture) and in a fresh process: the same decoded frames, and the same bytes.
    for a, b in zip(m.path, m2.path):
        fa, fb = list(decode_frames(a)), list(decode_frames(b))
        assert len(fa) == len(fb) and all(np.array_equal(x, y) for x, y in zip(fa, fb)), a
        assert open(a, "rb").read() == open(b, "rb").read(), a
    other = plan_corpus(24, 4, SizeOptions(48, 0.8))
    assert [j.video_url for j in other] != list(m.video_url)


def test_bad_arguments(tmp_path):
    with pytest.raises(InputError, match="too small"):
        build_corpus(tmp_path, n_videos=3, **TINY)
    with pytest.raises(InputError, match="too small for"):
        build_corpus(tmp_path, n_videos=5, n_cascades=6, **TINY)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write"):
        build_corpus(blocker / "sub", n_videos=8, **TINY)


def test_cgi_is_noise_free_and_camera_is_not():
    scene = draw_scene(0, "t", 96, 64, 10, 25.0, image="coffee")
    # Two renders a hair apart in time: same picture, so what differs is sensor noise.
    cam = np.abs(render_frame(scene, 2).astype(int) - render_frame(scene, 2.001)).mean()
    cgi = np.abs(render_frame(scene, 2, cgi=True).astype(int) - render_frame(scene, 2.001, cgi=True)).mean()
    assert cam > 1.0 and cgi < 0.2 * cam
    assert np.array_equal(render_frame(scene, 4), render_frame(scene, 4))


def test_timeline_edits_duplicate_or_skip_frames():
    for variant in ("dup", "ramp", "loop", "reverse"):
        times = timeline_map(FakeSpec("timeline", variant, 7), 60)
        assert (np.diff(times) == 0).sum() >= 5, variant
    skipped = np.diff(timeline_map(FakeSpec("timeline", "drop", 7), 60)) - 1  # frames lost between outputs
    assert (skipped >= 2).sum() >= 6 and skipped.sum() >= 15 and (skipped == 0).mean() > 0.6  # bursts


def test_splice_and_overlay_change_part_of_the_frame():
    scene = draw_scene(0, "s", 96, 64, 10, 25.0, image="chelsea")
    frame = render_frame(scene, 0)
    spliced = apply_splice(frame, FakeSpec("splice", "astronaut", 3), 0, 10)
    changed = np.abs(spliced.astype(int) - frame).max(axis=2) > 10
    assert 0.05 < changed.mean() < 0.7
    over = apply_overlay(frame, FakeSpec("overlay", "caption", 3), 0, 25.0)
    changed = np.abs(over.astype(int) - frame).max(axis=2) > 10
    assert 0.05 < changed.mean() < 0.4


def _highpass(img: np.ndarray) -> np.ndarray:
    luma = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return luma - cv2.GaussianBlur(luma, (0, 0), 1.0)


def test_inpaint_fills_a_tracked_region_and_leaves_the_rest():
    scene = replace(draw_scene(0, "i", 160, 96, 40, 25.0, image="chelsea"), pan=(0.12, 0.06), shake=0.0,
                    roll=0.0, zoom=0.0)
    p0 = camera_pose(scene, 0.0, shake=False)
    for variant in ("telea", "ns", "clone"):
        fake = FakeSpec("inpaint", variant, 5)
        centres = []
        for t in (0, 20):
            frame = render_frame(scene, t)
            mask = region_mask(fake, 160, 96, p0, camera_pose(scene, float(t), shake=False)).astype(bool)
            out = apply_inpaint(frame, fake, mask.astype(np.uint8))
            changed = np.abs(out.astype(int) - frame).max(axis=2) > 12
            near = cv2.dilate(mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
            assert 0.03 < mask.mean() < 0.15, variant  # a modest part of the frame
            assert changed[mask].mean() > 0.3 and not changed[~near].any(), variant  # inside only
            # the fill carries less sensor noise than the footage it replaced (Telea/NS smooth, the clone a
            # sub-pixel bilinear shift)
            inner = cv2.erode(mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
            assert _highpass(out)[inner].std() < 0.85 * _highpass(frame)[inner].std(), variant
            centres.append(np.argwhere(mask).mean(axis=0)[::-1])  # (x, y)
        # the region follows the scene: it moves across the frame opposite to the camera's pan
        pan_px = (np.array(camera_pose(scene, 20.0, shake=False)[:2]) - p0[:2]) / p0[2]
        assert np.abs(pan_px).max() > 8
        assert np.allclose(centres[1] - centres[0], -pan_px, atol=2.0)


def test_speed_change_plays_the_clip_at_another_constant_speed():
    fast = np.diff(speed_map(FakeSpec("speed", "fast", 3), 60))
    slow = np.diff(speed_map(FakeSpec("speed", "slow", 3), 60))
    assert (fast >= 2).mean() > 0.4 and (fast >= 1).all()  # frames dropped
    assert (slow == 0).mean() > 0.1 and (slow <= 1).all()  # frames repeated
    blend = speed_map(FakeSpec("speed", "blend", 3), 60)
    assert (np.abs(blend - np.round(blend)) > 0.05).mean() > 0.3  # between source frames
    # frame blending mixes two noisy exposures: less sensor noise than either
    # (a still camera: frames differ by their noise only; a third exposure is the reference)
    scene = replace(draw_scene(0, "b", 96, 64, 10, 25.0, image="coffee"), pan=(0.0, 0.0), shake=0.0, roll=0.0,
                    zoom=0.0)
    plain, mixed = list(_source_frames(scene, np.array([2.0, 2.5]), blend=True))
    ref = render_frame(scene, 7.0).astype(float)
    assert (mixed - ref).std() < 0.92 * (plain - ref).std()  # sqrt(3/4) of it for a 50/50 mix
    assert np.array_equal(next(_source_frames(scene, np.array([2.5]), blend=False)), render_frame(scene, 2.5))


def test_fakes_spread_evenly_over_every_kind():
    jobs = plan_corpus(120, 7, SizeOptions(max_height=48, max_duration=1.0))
    kinds = pd.Series([j.manipulation for j in jobs if j.parent is None and j.label_raw == "fake"]).value_counts()
    assert set(kinds.index) == set(MANIPULATIONS) and {"inpaint", "speed"} <= set(kinds.index)
    assert kinds.max() - kinds.min() <= 1


def _fine_detail(img: np.ndarray) -> float:
    luma = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return float((luma - cv2.GaussianBlur(luma, (0, 0), 1.0)).std())


def test_scene_textures_share_one_level_of_fine_detail():
    # the smoothest and the busiest photograph differ 5x in fine detail; their scene textures must not
    raw = {n: _fine_detail(load_image(n)) for n in ("moon", "gravel")}
    tex = {n: _fine_detail(scene_texture(n)) for n in ("moon", "gravel")}
    assert raw["gravel"] > 4 * raw["moon"]
    assert max(tex.values()) < 1.25 * min(tex.values())


def test_footage_is_as_sharp_at_every_size():
    # a camera samples the scene at about its own resolution: 144p and 720p footage are equally sharp
    for image in ("moon", "gravel"):
        lap = []
        for w, h in ((256, 144), (1280, 720)):
            scene = draw_scene(3, "k", w, h, 4, 25.0, image=image, region=(0.5, 0.5, False))
            grey = cv2.cvtColor(render_frame(scene, 1), cv2.COLOR_RGB2GRAY).astype(np.float32)
            lap.append(cv2.Laplacian(grey, cv2.CV_32F).var())
        assert max(lap) < 1.5 * min(lap), (image, lap)
