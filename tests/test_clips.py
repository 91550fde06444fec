"""Clip cache: uniform indices, decode-once memmap cache, variable-aspect extents, cached flow."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _deep_fixtures import make_scaled_workspace

from fvc.errors import InputError
from fvc.training import clips as clips_mod
from fvc.training.clips import (
    ClipCache,
    ClipSpec,
    build_clip_cache,
    clip_indices,
    clip_table,
    content_box,
    failed_videos,
    farneback_uint8,
    flow_to_float,
)
from fvc.training.dataset import ClipAug, ClipDataset, collate_clips


def test_clip_indices_uniform_and_short_videos():
    (one,) = clip_indices(100, 8, 1)
    assert one[0] == 0 and one[-1] == 99 and one == sorted(one)
    gaps = np.diff(one)
    assert gaps.max() - gaps.min() <= 1
    two = clip_indices(100, 4, 2)
    assert max(two[0]) < min(two[1])  # one clip per segment
    assert clip_indices(3, 6, 1) == [[0, 0, 1, 1, 2, 2]]  # short video repeats frames


def test_content_box_letterbox():
    assert content_box(48, 48, 64, 36) == (0, 10, 48, 27)
    assert content_box(48, 48, None, None) == (0, 0, 48, 48)


def test_spec_validation():
    with pytest.raises(InputError, match=r"clip spec: mode must be one of .*got 'stretch'"):
        ClipSpec(mode="stretch")
    with pytest.raises(InputError, match=r"clip spec: frames must be in 1\.\.64, got 0"):
        ClipSpec(frames=0)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return make_scaled_workspace(tmp_path_factory.mktemp("clipws"), per_class=2, folds=2, corrupt=True)


def test_cache_built_once_and_failures_recorded(ws, monkeypatch):
    table = clip_table(ws)
    spec = ClipSpec(frames=6, size=24, clips_per_video=2)
    cache = build_clip_cache(table, spec, ws.cache_dir / "clips", ws)
    assert isinstance(cache.clips, np.memmap) and cache.clips.dtype == np.uint8
    assert cache.clips.shape == (8, 6, 24, 24, 3)  # 4 good videos x 2 clips
    assert list(failed_videos(cache)["video_id"]) == ["bad"]
    assert set(cache.index["clip"]) == {0, 1} and cache.index["label"].notna().all()
    assert cache.clips[:].max() > 0
    # a second build reuses the cache without decoding anything
    monkeypatch.setattr(clips_mod, "decode_clips", lambda *a, **k: pytest.fail("decoded again"))
    again = build_clip_cache(table, spec, ws.cache_dir / "clips", ws)
    assert again.root == cache.root
    np.testing.assert_array_equal(np.asarray(again.clips), np.asarray(cache.clips))


def test_varaspect_keeps_content_and_extent(ws):
    cache = build_clip_cache(clip_table(ws), ClipSpec(frames=4, size=32, mode="varaspect"), ws.cache_dir / "clips", ws)
    ext = cache.index.set_index("video_id")[["valid_h", "valid_w"]]
    assert tuple(ext.loc["f0"]) == (18, 32)  # landscape 64x36 source
    assert tuple(ext.loc["f1"]) == (32, 18)  # portrait 36x64 source
    f0 = cache.clips[int(cache.index.set_index("video_id").loc["f0", "row"])]
    assert f0[:, 18:].max() == 0 and f0[:, :18].max() > 0  # picture top-left, padding below
    ds = ClipDataset(cache, train=False)
    batch = ds.transform(collate_clips([ds[0], ds[1]]), torch.device("cpu"))
    assert batch["clip"].shape[-2:] == tuple(int(v) for v in batch["valid"].max(0).values)


def test_flow_cached_and_meaningful(ws):
    cache = build_clip_cache(clip_table(ws), ClipSpec(frames=4, size=24, flow=True), ws.cache_dir / "clips", ws)
    assert cache.flow is not None and cache.flow.shape == (4, 4, 24, 24, 2) and cache.flow.dtype == np.uint8
    rng = np.random.default_rng(0)
    blocks = np.kron(rng.integers(0, 255, (10, 10)), np.ones((4, 4)))  # 40x40 blocky texture
    img = np.ascontiguousarray(blocks.astype(np.uint8)[..., None].repeat(3, -1))
    moved = np.roll(img, 2, axis=1)
    fx = flow_to_float(farneback_uint8(img, moved))[8:-8, 8:-8, 0]
    assert 1.0 < float(np.median(fx)) < 3.0  # content moved two pixels right
    ds = ClipDataset(cache, train=False)
    batch = ds.transform(collate_clips([ds[0]]), torch.device("cpu"))
    assert batch["flow"].shape == (1, 2, 4, 24, 24) and batch["flow"].abs().max() <= 1.0


def test_dataset_items_and_seeded_aug(ws):
    cache = build_clip_cache(clip_table(ws), ClipSpec(frames=6, size=24), ws.cache_dir / "clips", ws)
    ds = ClipDataset(cache, train=True, aug=ClipAug(hflip=1.0, brightness=0.2, contrast=0.2))
    cpu = torch.device("cpu")
    a = ds.transform(collate_clips([ds[0]]), cpu, train=True, generator=torch.Generator().manual_seed(3))
    b = ds.transform(collate_clips([ds[0]]), cpu, train=True, generator=torch.Generator().manual_seed(3))
    assert a["clip"].shape == (1, 3, 6, 24, 24) and a["clip"].dtype == torch.float32
    torch.testing.assert_close(a["clip"], b["clip"])
    plain = ds.transform(collate_clips([ds[0]]), cpu)["clip"]
    assert not torch.allclose(a["clip"], plain)
    assert float(ds[0]["label"]) in (0.0, 1.0)


def test_cache_pickles_by_path(ws):
    import pickle

    cache = build_clip_cache(clip_table(ws), ClipSpec(frames=6, size=24), ws.cache_dir / "clips", ws)
    blob = pickle.dumps(cache)
    assert len(blob) < 2000  # workers re-open the memmap instead of copying it
    assert isinstance(pickle.loads(blob), ClipCache)


def test_missing_scaled_table_is_clear(tmp_path):
    from fvc.workspace import Workspace

    with pytest.raises(InputError, match="fvc scale"):
        clip_table(Workspace(tmp_path).ensure())


def test_threaded_build_matches_sequential(ws, tmp_path):
    table = clip_table(ws)
    spec = ClipSpec(frames=5, size=16)
    one = build_clip_cache(table, spec, tmp_path / "one", ws, workers=1)
    two = build_clip_cache(table, spec, tmp_path / "two", ws, workers=2)
    np.testing.assert_array_equal(np.asarray(one.clips), np.asarray(two.clips))
    assert one.index["video_id"].tolist() == two.index["video_id"].tolist()
