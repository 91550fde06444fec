"""DataLoaders that feed the device: uint8 batches from workers, model inputs made on the device.

Workers only index the cache and stack uint8 clips, so each runs torch with one
thread (many intra-op threads per worker fight the main process for cores),
stays alive across epochs and keeps batches prefetched. The sampler is a
``DistributedSampler`` in every run (one replica when not distributed): the
order of an epoch is a pure function of (seed, epoch), the same whatever the
number of processes, which is what lets resume and data parallelism agree
with a single process.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from .dataset import collate_clips
from .distributed import Dist
from .transforms import LABEL_KEYS, ClipTransform

PREFETCH = 4  # batches per worker kept ready
SINGLE = Dist()  # one process


def worker_init(worker_id: int) -> None:
    """One torch thread per worker; python/numpy seeded from torch's per-worker seed."""
    torch.set_num_threads(1)
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


def make_loader(ds: Dataset, batch_size: int, train: bool, seed: int, workers: int, device: torch.device,
                d: Dist = SINGLE, generator: torch.Generator | None = None) -> DataLoader:
    sampler = DistributedSampler(ds, num_replicas=d.world, rank=d.rank, shuffle=train, seed=seed, drop_last=False)
    return DataLoader(
        ds, batch_size=batch_size, sampler=sampler, generator=generator, drop_last=False, num_workers=workers,
        collate_fn=collate_clips, worker_init_fn=worker_init, persistent_workers=workers > 0,
        prefetch_factor=PREFETCH if workers > 0 else None, pin_memory=device.type == "cuda",
    )


class DeviceBatches:
    """A loader whose batches hold model inputs on ``device`` (uint8 clips go through ``transform`` there);
    ``label`` and ``row`` stay on the CPU. Float batches (datasets without a transform) are only moved."""

    def __init__(self, loader: DataLoader, device: torch.device, transform: ClipTransform | None = None,
                 train: bool = False, generator: torch.Generator | None = None, d: Dist = SINGLE,
                 channels_last: bool = False):
        self.loader, self.device, self.transform = loader, device, transform
        self.train, self.generator, self.dist, self.channels_last = train, generator, d, channels_last

    @property
    def sampler(self):
        return self.loader.sampler

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for batch in self.loader:
            yield self.to_device(batch)

    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {k: batch[k] for k in LABEL_KEYS if k in batch}
        if self.transform is not None and batch["clip"].dtype == torch.uint8:
            out.update(self.transform(batch, self.device, train=self.train, generator=self.generator,
                                      shard=(self.dist.rank, self.dist.world), channels_last=self.channels_last))
        else:
            nb = self.device.type == "cuda"
            out.update({k: v.to(self.device, non_blocking=nb) for k, v in batch.items() if k not in LABEL_KEYS})
        return out
