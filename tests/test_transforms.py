"""On-device clip transform: uint8 datasets, equivalence with the former per-item CPU path, shards, devices."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _deep_fixtures import make_scaled_workspace, one_torch_thread  # noqa: F401

from fvc.errors import InputError
from fvc.training.clips import FLOW_BOUND, ClipSpec, build_clip_cache, clip_table
from fvc.training.dataset import ClipAug, ClipDataset, collate_clips
from fvc.training.device import resolve_device
from fvc.training.loader import DeviceBatches, make_loader

AUG = ClipAug(hflip=0.5, brightness=0.2, contrast=0.2)


# -- the per-item CPU path this module replaced, kept verbatim as the reference ---------------------------
def ref_make_item(clip_u8, flow_u8, vh, vw, varaspect, mean, std, aug=None):
    src = torch.from_numpy(np.ascontiguousarray(clip_u8))
    t, h, w, _ = src.shape
    clip = torch.empty((3, t, h, w), dtype=torch.float32)
    clip.copy_(src.permute(3, 0, 1, 2))
    flow = None
    if flow_u8 is not None:
        fsrc = torch.from_numpy(np.ascontiguousarray(flow_u8))
        flow = torch.empty((2, t, h, w), dtype=torch.float32)
        flow.copy_(fsrc.permute(3, 0, 1, 2))
        flow.mul_(2 * FLOW_BOUND / 255.0 / FLOW_BOUND).sub_(1.0)
    if aug is not None:
        clip.mul_(1 / 255.0)
        clip, flow = ref_augment(aug, clip, flow, vw if varaspect else w)
        clip.sub_(mean).div_(std)
    else:
        clip.sub_(mean * 255.0).mul_(1.0 / (std * 255.0))
    if varaspect:
        clip[:, :, vh:, :] = 0
        clip[:, :, :, vw:] = 0
    item = {"clip": clip}
    if flow is not None:
        item["flow"] = flow
    if varaspect:
        item["valid"] = torch.tensor([vh, vw])
    return item


def ref_augment(a, clip, flow, w):
    if a.hflip and torch.rand(()) < a.hflip:
        clip[..., :w] = clip[..., :w].flip(-1)
        if flow is not None:
            flow[..., :w] = flow[..., :w].flip(-1)
            flow[0].neg_()
    b = float((torch.rand(()) * 2 - 1) * a.brightness) if a.brightness else 0.0
    c = float(1 + (torch.rand(()) * 2 - 1) * a.contrast) if a.contrast else 1.0
    if b or c != 1.0:
        m = float(clip.mean()) + b
        clip.mul_(c).add_(c * b + (1 - c) * m)
    return clip.clamp_(0, 1), flow


def ref_batch(ds: ClipDataset, positions, aug, seed):
    torch.manual_seed(seed)
    mean = torch.tensor(ds.transform.mean).view(3, 1, 1, 1)
    std = torch.tensor(ds.transform.std).view(3, 1, 1, 1)
    items = []
    for i in positions:
        r = int(ds.rows[i])
        flow = ds.cache.flow[r] if ds.cache.flow is not None else None
        vh, vw = (int(v) for v in ds.valid[i])
        items.append(ref_make_item(ds.cache.clips[r], flow, vh, vw, ds.varaspect, mean, std, aug))
    batch = {k: torch.stack([it[k] for it in items]) for k in items[0]}
    if "valid" in batch:
        h, w = (int(v) for v in batch["valid"].max(0).values)
        batch["clip"] = batch["clip"][..., :h, :w].contiguous()
    return batch


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return make_scaled_workspace(tmp_path_factory.mktemp("tfws"), per_class=3, folds=2)


SPECS = {"letterbox": ClipSpec(frames=4, size=24, clips_per_video=2),
         "varaspect": ClipSpec(frames=4, size=32, mode="varaspect"),
         "flow": ClipSpec(frames=4, size=24, flow=True)}


@pytest.fixture(scope="module", params=list(SPECS))
def cache(request, ws):
    return build_clip_cache(clip_table(ws), SPECS[request.param], ws.cache_dir / "clips", ws)


def test_dataset_items_are_uint8_views_of_the_cache(cache):
    ds = ClipDataset(cache, train=True, aug=AUG)
    item = ds[1]
    assert item["clip"].dtype == torch.uint8 and item["clip"].shape == cache.clips.shape[1:]
    np.testing.assert_array_equal(item["clip"].numpy(), cache.clips[int(ds.rows[1])])
    if cache.flow is not None:
        assert item["flow"].dtype == torch.uint8 and item["flow"].shape[-1] == 2
    torch.manual_seed(0)
    again = ds[1]  # items hold no randomness: augmentation happens on the device, per batch
    assert torch.equal(item["clip"], again["clip"])


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("train", [False, True])
def test_device_transform_matches_cpu_reference(cache, train, channels_last):
    ds = ClipDataset(cache, train=train, aug=AUG)
    pos = list(range(len(ds)))
    want = ref_batch(ds, pos, AUG if train else None, seed=7)
    got = ds.transform(collate_clips([ds[i] for i in pos]), torch.device("cpu"), train=train,
                       generator=torch.Generator().manual_seed(7), channels_last=channels_last)
    assert set(got) == set(want)
    assert got["clip"].is_contiguous(memory_format=torch.channels_last_3d if channels_last else torch.contiguous_format)
    for k in want:
        assert got[k].shape == want[k].shape, k
        torch.testing.assert_close(got[k], want[k], rtol=1e-5, atol=1e-5)
    if train:  # the comparison saw flipped and unflipped clips, brightened and darkened ones
        flips = ds.transform.draws(len(pos), torch.Generator().manual_seed(7))[:, 0] < AUG.hflip
        assert 0 < int(flips.sum()) < len(pos)
        assert not torch.allclose(got["clip"], ds.transform(collate_clips([ds[i] for i in pos]), torch.device("cpu"))["clip"])


def test_rank_shards_reproduce_the_global_batch(cache):
    """DDP rank r holds positions r, r+w, ... of a global batch: its augmented clips are the global batch's rows."""
    ds = ClipDataset(cache, train=True, aug=AUG)
    pos = list(range(len(ds) - len(ds) % 2))
    whole = ds.transform(collate_clips([ds[i] for i in pos]), torch.device("cpu"), train=True,
                         generator=torch.Generator().manual_seed(3))
    for rank in (0, 1):
        part = ds.transform(collate_clips([ds[i] for i in pos[rank::2]]), torch.device("cpu"), train=True,
                            generator=torch.Generator().manual_seed(3), shard=(rank, 2))
        h, w = part["clip"].shape[-2:]
        torch.testing.assert_close(part["clip"], whole["clip"][rank::2, ..., :h, :w])


def test_loader_batches_arrive_as_model_inputs(cache):
    ds = ClipDataset(cache, train=False)
    batches = DeviceBatches(make_loader(ds, 2, False, 0, 0, torch.device("cpu")), torch.device("cpu"), ds.transform)
    first = next(iter(batches))
    assert first["clip"].dtype == torch.float32 and first["clip"].shape[:2] == (2, 3)
    assert first["row"].tolist() == [int(r) for r in ds.rows[:2]] and "label" in first
    torch.testing.assert_close(first["clip"], ref_batch(ds, [0, 1], None, 0)["clip"])


def test_device_choice_and_errors(monkeypatch):
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert resolve_device("auto").type == "cpu"
        with pytest.raises(InputError, match=r"--device: 'cuda' asked for but torch sees no CUDA GPU; install a CUDA"):
            resolve_device("cuda")
        with pytest.raises(InputError, match="'cuda:1' asked for but torch sees no CUDA GPU"):
            resolve_device("cuda:1")
    with pytest.raises(InputError, match=r"--device: must be auto, cpu, cuda or cuda:N, got 'tpu'"):
        resolve_device("tpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("auto") == torch.device("cuda", 0) and resolve_device("cuda:1") == torch.device("cuda", 1)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert resolve_device("cuda") == torch.device("cuda", 1)  # torchrun: each rank its own GPU
    with pytest.raises(InputError, match=r"'cuda:2' asked for but torch sees 2 CUDA GPU\(s\) \(cuda:0\.\.cuda:1\)"):
        resolve_device("cuda:2")
