"""Affine coupling layers and squeezing: the invertible blocks of RealNVP (Dinh et al. 2017, §3.3-3.6).

With a binary mask b over (C, H, W), a coupling layer leaves the b-part of x unchanged and
scales and shifts the rest by functions of it (eq. 9):

    y = b ⊙ x + (1 − b) ⊙ (x ⊙ exp(s(b ⊙ x)) + t(b ⊙ x)),
    log |det ∂y/∂x| = Σ_i (1 − b_i) s_i(b ⊙ x),
    x = b ⊙ y + (1 − b) ⊙ (y − t(b ⊙ y)) ⊙ exp(−s(b ⊙ y)).

s and t come from one network (conv or MLP) with 2C output channels; s = scale ⊙ tanh(·) with a
learned per-channel scale keeps exp(s) bounded (the paper's tanh with a learned scale), and the
network's last layer starts at zero, so every coupling starts as the identity.

Masks: ``checkerboard`` b_hw = (h + w + parity) mod 2; ``channel`` b = 1 on the first half of the
channels (parity 0) or the second (parity 1). ``squeeze`` trades space for channels,
(C, H, W) → (4C, H/2, W/2), a permutation of the entries with log-determinant 0.
"""
from __future__ import annotations

import torch
from torch import nn

from vaekit.nn.mlp import MLP, activation

MASKS = ("checkerboard", "channel")


def coupling_mask(kind: str, parity: int, shape: tuple[int, int, int]) -> torch.Tensor:
    """b of shape (C, H, W), 1 where the coupling leaves the input unchanged."""
    channels, height, width = shape
    if kind == "checkerboard":
        h, w = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
        return ((h + w + parity) % 2).float().expand(channels, height, width).clone()
    if kind == "channel":
        first = (torch.arange(channels) < channels // 2).float()
        return (first if parity == 0 else 1 - first).view(channels, 1, 1).expand(shape).clone()
    raise ValueError(f"coupling mask must be one of {', '.join(MASKS)}, got {kind!r}")


def conv_network(channels: int, hidden: tuple[int, ...], act: str) -> nn.Sequential:
    """(B, C, H, W) → (B, 2C, H, W): 3×3 conv to hidden[0], 1×1 convs between hidden widths, 3×3 conv out."""
    layers: list[nn.Module] = [nn.Conv2d(channels, hidden[0], 3, padding=1), activation(act)]
    for width_in, width_out in zip(hidden[:-1], hidden[1:]):
        layers += [nn.Conv2d(width_in, width_out, 1), activation(act)]
    return nn.Sequential(*layers, nn.Conv2d(hidden[-1], 2 * channels, 3, padding=1))


def mlp_network(shape: tuple[int, int, int], hidden: tuple[int, ...], act: str) -> nn.Sequential:
    """(B, C, H, W) → (B, 2C, H, W) through an MLP on the flattened image."""
    channels, height, width = shape
    return nn.Sequential(nn.Flatten(), MLP(channels * height * width, hidden, 2 * channels * height * width, act),
                         nn.Unflatten(-1, (2 * channels, height, width)))


class AffineCoupling(nn.Module):
    """One coupling layer of the module docstring on images of ``shape``; ``network`` maps
    (B, C, H, W) → (B, 2C, H, W) = [raw s, t]."""

    def __init__(self, shape: tuple[int, int, int], mask: str, parity: int, network: nn.Module):
        super().__init__()
        self.register_buffer("mask", coupling_mask(mask, parity, shape), persistent=False)
        self.network = network
        self.scale = nn.Parameter(torch.ones(shape[0], 1, 1))
        last = [module for module in network.modules() if isinstance(module, (nn.Conv2d, nn.Linear))][-1]
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def _scale_shift(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raw_scale, shift = self.network(kept).chunk(2, dim=1)                # (B, C, H, W) each
        free = 1 - self.mask
        return free * self.scale * torch.tanh(raw_scale), free * shift

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """y = f(x) and log |det ∂y/∂x| of shape (B,)."""
        log_scale, shift = self._scale_shift(self.mask * x)
        return x * torch.exp(log_scale) + shift, log_scale.flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        log_scale, shift = self._scale_shift(self.mask * y)
        return (y - shift) * torch.exp(-log_scale)


def squeeze(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B, 4C, H/2, W/2): each 2×2 block of a channel becomes 4 channels."""
    batch, channels, height, width = x.shape
    blocks = x.view(batch, channels, height // 2, 2, width // 2, 2)
    return blocks.permute(0, 1, 3, 5, 2, 4).reshape(batch, 4 * channels, height // 2, width // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    """The inverse of ``squeeze``: (B, 4C, H, W) → (B, C, 2H, 2W)."""
    batch, channels, height, width = x.shape
    blocks = x.view(batch, channels // 4, 2, 2, height, width)
    return blocks.permute(0, 1, 4, 2, 5, 3).reshape(batch, channels // 4, 2 * height, 2 * width)
