"""Convolutional encoder/decoder for square images (28×28, 32×32, 64×64, ...).

Each stage halves (encoder) or doubles (decoder) the side with a 4×4 kernel, stride 2,
padding 1, as in the β-VAE / disentanglement_lib architecture; a fully connected layer
maps between the feature map and the code.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from vaekit.nn.mlp import activation


def default_channels(side: int) -> tuple[int, ...]:
    """Stages for an image side: 28 → (32, 64) giving 7×7; 64 → (32, 32, 64, 64) giving 4×4."""
    if side >= 64:
        return (32, 32, 64, 64)
    if side >= 28:
        return (32, 64)
    return (32,)


def _final_side(side: int, stages: int) -> int:
    if side % (2 ** stages):
        raise ValueError(f"image side {side} is not divisible by 2**{stages} (one halving per conv stage)")
    return side // 2 ** stages


def downsampling_convs(image_shape: tuple[int, int, int], channels: tuple[int, ...],
                       make_activation: Callable[[], nn.Module]) -> tuple[list[nn.Module], int]:
    """[conv 4×4 stride 2, activation] per stage of ``channels`` for square (C, H, W) images, and the
    side H / 2^stages of the final feature map."""
    in_channels, height, width = image_shape
    if height != width:
        raise ValueError(f"conv networks need square images, got {height}×{width}")
    side = _final_side(height, len(channels))
    layers: list[nn.Module] = []
    for c_in, c_out in zip((in_channels, *channels[:-1]), channels):
        layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), make_activation()]
    return layers, side


class ConvEncoder(nn.Module):
    """(B, C, H, W) → (B, out_features)."""

    def __init__(self, image_shape: tuple[int, int, int], channels: tuple[int, ...], hidden: int,
                 out_features: int, act: str = "relu"):
        super().__init__()
        layers, side = downsampling_convs(image_shape, channels, lambda: activation(act))
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Sequential(nn.Linear(channels[-1] * side * side, hidden), activation(act),
                                  nn.Linear(hidden, out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ConvDecoder(nn.Module):
    """(..., in_features) → (..., out_channels, H, W)."""

    def __init__(self, in_features: int, channels: tuple[int, ...], hidden: int,
                 image_shape: tuple[int, int, int], out_channels: int, act: str = "relu"):
        super().__init__()
        _, height, _ = image_shape
        self.side = _final_side(height, len(channels))
        self.top_channels = channels[-1]
        self.head = nn.Sequential(nn.Linear(in_features, hidden), activation(act),
                                  nn.Linear(hidden, channels[-1] * self.side ** 2), activation(act))
        reversed_channels = channels[::-1]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(reversed_channels, (*reversed_channels[1:], out_channels)):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), activation(act)]
        self.features = nn.Sequential(*layers[:-1])  # no activation after the last layer

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        leading = z.shape[:-1]
        h = self.head(z.reshape(-1, z.shape[-1])).view(-1, self.top_channels, self.side, self.side)
        out = self.features(h)
        return out.view(*leading, *out.shape[1:])
