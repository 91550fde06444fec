"""uint8 clip batches -> model inputs, on the device the model runs on.

Clips stay uint8 (a quarter of float32) from the cache through the loader,
the pinned batch and the host-to-device copy; every float operation
(normalisation, flip, brightness, contrast) runs here, batched, on the
device. Training, validation, ``fvc predict`` and embeddings all call
:class:`ClipTransform`, so a clip becomes the same tensor wherever it is used.

Augmentation draws come from a CPU ``torch.Generator`` (three numbers per
clip, in clip order), so a seed gives the same clips on CPU and CUDA, with
any number of loader workers, and per rank of a data-parallel run.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

LABEL_KEYS = ("label", "row")


@dataclass(frozen=True)
class ClipAug:
    """Train-time augmentation: flip probability, brightness and contrast ranges."""

    hflip: float = 0.5
    brightness: float = 0.1
    contrast: float = 0.1


class ClipTransform:
    """Normalise (and, in training, augment) a batch of uint8 ``(B,T,H,W,3)`` clips on ``device``.

    ``channels_last`` returns ``channels_last_3d`` clips (what 3D convolutions want on CUDA); the
    uint8 (B,T,H,W,3) layout already is that layout, so the float copy reads it straight through.
    """

    def __init__(self, mean, std, varaspect: bool = False, aug: ClipAug | None = None):
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.varaspect = varaspect
        self.aug = aug if aug is not None else ClipAug()
        self._stats: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def stats(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, 1/std) as (1,3,1,1,1) tensors on ``device``, made once per device."""
        if device not in self._stats:
            self._stats[device] = (torch.tensor(self.mean, device=device).view(1, 3, 1, 1, 1),
                                   torch.tensor([1.0 / v for v in self.std], device=device).view(1, 3, 1, 1, 1))
        return self._stats[device]

    def draws(self, n: int, generator: torch.Generator | None, shard: tuple[int, int] = (0, 1)) -> torch.Tensor:
        """(n, 3) uniform draws (flip, brightness, contrast) for this rank's clips of a global batch.

        A data-parallel rank ``r`` of ``w`` holds the clips at positions ``r, r+w, ...`` of the global
        batch (``DistributedSampler``'s split), so every rank draws the whole batch and keeps its rows.
        """
        rank, world = shard
        return torch.rand((n * world, 3), generator=generator)[rank::world]

    def __call__(self, batch: dict[str, torch.Tensor], device: torch.device, *, train: bool = False,
                 generator: torch.Generator | None = None, shard: tuple[int, int] = (0, 1),
                 channels_last: bool = False) -> dict[str, torch.Tensor]:
        nb = device.type == "cuda"
        u8 = batch["clip"].to(device, non_blocking=nb)
        b, t, h, w, _ = u8.shape
        full = 3 * t * h * w  # augmentation's mean is over the whole cached clip (its zero padding included)
        flow = flow_to_unit(batch["flow"].to(device, non_blocking=nb)) if "flow" in batch else None
        valid = batch.get("valid")
        widths = [w] * b
        if valid is not None:  # variable aspect: trim to the batch's largest valid extent before going float
            vh, vw = (int(v) for v in valid.max(0).values)
            u8 = u8[:, :, :vh, :vw]
            widths = valid[:, 1].tolist()
        src = u8.permute(0, 4, 1, 2, 3)  # (B,3,T,H,W) view with channels_last_3d strides
        layout = torch.channels_last_3d if channels_last else torch.contiguous_format
        clip = torch.empty(src.shape, device=device, memory_format=layout).copy_(src)
        mean, inv_std = self.stats(device)
        if train:
            scale, shift = self._augment(clip, flow, self.draws(b, generator, shard), widths, full, device)
            clip.mul_(scale).add_(shift).clamp_(0, 1)
            clip.sub_(mean).mul_(inv_std)
        else:
            clip.sub_(mean * 255.0).mul_(inv_std / 255.0)
        out: dict[str, torch.Tensor] = {"clip": clip}
        if valid is not None:  # padding reads as zero after normalisation
            vd = valid.to(device, non_blocking=nb)
            th, tw = clip.shape[-2:]
            rows = torch.arange(th, device=device).view(1, th) < vd[:, :1]
            cols = torch.arange(tw, device=device).view(1, tw) < vd[:, 1:]
            clip.mul_((rows.view(b, 1, 1, th, 1) & cols.view(b, 1, 1, 1, tw)).to(clip.dtype))
            out["valid"] = vd
        if flow is not None:
            out["flow"] = flow
        return out

    def _augment(self, clip: torch.Tensor, flow: torch.Tensor | None, params: torch.Tensor, widths: list[int],
                 full: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Flip within the valid width (in place); the per-clip (scale, shift) of brightness then contrast.

        On x/255, per clip: ``y = c*x + c*b + (1-c)*(mean(x)+b)``, then clamp to [0, 1].
        """
        a = self.aug
        n = len(widths)
        flip = (params[:, 0] < a.hflip).tolist() if a.hflip else [False] * n
        for i, (f, w) in enumerate(zip(flip, widths)):
            if f:
                clip[i, ..., :w] = clip[i, ..., :w].flip(-1)
                if flow is not None:
                    flow[i, ..., :w] = flow[i, ..., :w].flip(-1)
                    flow[i, 0].neg_()  # horizontal motion changes sign
        bright = (params[:, 1] * 2 - 1) * a.brightness if a.brightness else torch.zeros(n)
        contrast = 1 + (params[:, 2] * 2 - 1) * a.contrast if a.contrast else torch.ones(n)
        bright, contrast = bright.to(device).view(-1, 1, 1, 1, 1), contrast.to(device).view(-1, 1, 1, 1, 1)
        m = clip.sum(dim=(1, 2, 3, 4), keepdim=True) / (255.0 * full) + bright
        return contrast / 255.0, contrast * bright + (1 - contrast) * m


def flow_to_unit(flow_u8: torch.Tensor) -> torch.Tensor:
    """uint8 flow ``(B,T,H,W,2)`` -> contiguous float ``(B,2,T,H,W)`` in [-1, 1] (= pixels / FLOW_BOUND)."""
    b, t, h, w, _ = flow_u8.shape
    out = torch.empty((b, 2, t, h, w), device=flow_u8.device).copy_(flow_u8.permute(0, 4, 1, 2, 3))
    return out.mul_(2 / 255.0).sub_(1.0)
