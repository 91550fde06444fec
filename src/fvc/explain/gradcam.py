"""Where in the frame a 3D CNN looked: Grad-CAM on its last 3D convolution.

Own hooks rather than the grad-cam package: its targets and reshape helpers
assume 2D feature maps, and a 3D CNN's maps are (C, T', H', W'). The map is
the ReLU of the gradient-weighted sum of that layer's channels, upsampled to
the clip's (T, H, W) so each frame gets its own heatmap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError


def last_conv3d(model) -> Any:
    """The last ``Conv3d`` of a network, or None when it has none (a transformer)."""
    from torch import nn

    convs = [m for m in model.modules() if isinstance(m, nn.Conv3d)]
    return convs[-1] if convs else None


def grad_cam(model, batch: dict[str, Any], clip: int = 0) -> np.ndarray:
    """Heatmaps (T, H, W) in [0, 1] for one clip of ``batch``, for the 'fake' logit."""
    import torch
    import torch.nn.functional as F

    layer = last_conv3d(model)
    if layer is None:
        raise InputError(type(model).__name__, "Grad-CAM needs a 3D convolution; this model has none")
    acts: list[torch.Tensor] = []
    grads: list[torch.Tensor] = []

    def keep(_module, _inputs, output):
        acts.append(output)
        output.register_hook(grads.append)

    one = {k: v[clip:clip + 1] for k, v in batch.items()}
    handle = layer.register_forward_hook(keep)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            inputs = {k: v.detach().clone().requires_grad_(v.is_floating_point()) for k, v in one.items()}
            logit = model(**inputs).reshape(-1)[0]
            model.zero_grad(set_to_none=True)
            logit.backward()
    finally:
        handle.remove()
        model.train(was_training)
    a, g = acts[-1].detach()[0], grads[-1].detach()[0]  # (C, T', H', W')
    weights = g.mean(dim=(1, 2, 3), keepdim=True)
    cam = torch.relu((weights * a).sum(0))  # (T', H', W')
    t, h, w = one["clip"].shape[2:]
    cam = F.interpolate(cam[None, None], size=(t, h, w), mode="trilinear", align_corners=False)[0, 0]
    cam = cam.numpy()
    top = float(cam.max())
    return cam / top if top > 0 else cam
