"""Conditional PixelCNN: masked convolutions over a single-channel image (van den Oord et al. 2016).

Pixels are ordered in raster order (row by row, left to right). A masked convolution zeroes the
kernel weights that would read the current pixel or any later one:

    mask A (first layer, 7×7): the centre pixel and everything after it are hidden,
    mask B (later layers, 3×3): only what comes after the centre is hidden,

so after one A layer and any number of B layers the output at pixel i depends on x_j for j < i
only. Each layer also reads a conditioning map s (C, H, W), computed from the latent code z, through
a 1×1 convolution (conditional PixelCNN, van den Oord et al. 2016, eq. 4; PixelVAE, Gulrajani et al. 2017):

    h_1 = ReLU(W_1 ∗_A x + V_1 s),   h_l = ReLU(W_l ∗_B h_{l−1} + V_l s),   logits = U h_L  (1×1).

The map s does not depend on x, so it is read unmasked. Nothing probabilistic lives here: the
network returns the logits of p(x_i = 1 | x_<i, z); ``vaekit.distributions.autoregressive`` turns
them into a distribution.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MaskedConv2d(nn.Conv2d):
    """A same-size convolution whose kernel cannot see the centre pixel's future (mask "B") or the
    centre pixel itself either (mask "A")."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str):
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
        if kernel_size % 2 != 1:
            raise ValueError(f"masked convolutions need an odd kernel size, got {kernel_size}")
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        centre = kernel_size // 2
        mask = torch.ones_like(self.weight)                                  # (out, in, k, k)
        mask[:, :, centre, centre + (mask_type == "B"):] = 0                 # the centre row from the centre on (A) or after it (B)
        mask[:, :, centre + 1:] = 0                                          # every row below the centre
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)


class PixelCNN(nn.Module):
    """(x (N, 1, H, W), s (N, C, H, W)) → logits (N, 1, H, W) of p(x_i = 1 | x_<i, s).

    ``layers`` masked convolutions of ``channels`` features each: one 7×7 of mask A, then 3×3 of mask B.
    """

    def __init__(self, channels: int = 32, layers: int = 5):
        super().__init__()
        if channels < 1 or layers < 1:
            raise ValueError(f"a PixelCNN needs channels ≥ 1 and layers ≥ 1, got {channels} and {layers}")
        self.channels = channels
        self.convolutions = nn.ModuleList(
            [MaskedConv2d(1, channels, 7, "A")] + [MaskedConv2d(channels, channels, 3, "B") for _ in range(layers - 1)])
        self.conditioning = nn.ModuleList(nn.Conv2d(channels, channels, 1, bias=False) for _ in range(layers))
        self.output = nn.Conv2d(channels, 1, 1)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        if condition.shape[1] != self.channels or condition.shape[2:] != x.shape[2:] or x.shape[1] != 1:
            raise ValueError(f"PixelCNN: expected x (N, 1, H, W) and a condition (N, {self.channels}, H, W), "
                             f"got {tuple(x.shape)} and {tuple(condition.shape)}")
        h = x
        for convolution, conditioning in zip(self.convolutions, self.conditioning):
            h = F.relu(convolution(h) + conditioning(condition))             # (N, C, H, W)
        return self.output(h)                                                # (N, 1, H, W)
