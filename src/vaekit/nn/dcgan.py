"""DCGAN generator and discriminator for square images (Radford et al. 2016, §3), sized for 28×28.

Generator: z → Linear → BatchNorm → ReLU → (C_k, s, s) → k stride-2 4×4 transposed convolutions
(BatchNorm + ReLU between them) → sigmoid, so g(z) ∈ [0, 1]^{C×H×W}; s = H / 2^k.
Discriminator: k stride-2 4×4 convolutions with LeakyReLU(0.2), no BatchNorm (the real and the
generated batch never share batch statistics) → one logit d(x), D(x) = σ(d(x)).
For 28×28 and channels (32, 64): 28 → 14 → 7 and back, as in ``nn.conv``'s VAE networks.
"""
from __future__ import annotations

import torch
from torch import nn

from vaekit.nn.conv import _final_side, downsampling_convs


class DCGANGenerator(nn.Module):
    """(..., latent_dim) → (..., C, H, W) in [0, 1]."""

    def __init__(self, latent_dim: int, channels: tuple[int, ...], image_shape: tuple[int, int, int]):
        super().__init__()
        out_channels, height, width = image_shape
        if height != width:
            raise ValueError(f"conv networks need square images, got {height}×{width}")
        self.side, self.top_channels = _final_side(height, len(channels)), channels[-1]
        self.head = nn.Sequential(nn.Linear(latent_dim, channels[-1] * self.side ** 2),
                                  nn.BatchNorm1d(channels[-1] * self.side ** 2), nn.ReLU())
        reversed_channels = channels[::-1]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(reversed_channels[:-1], reversed_channels[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
        layers += [nn.ConvTranspose2d(reversed_channels[-1], out_channels, 4, stride=2, padding=1), nn.Sigmoid()]
        self.features = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        leading = z.shape[:-1]
        h = self.head(z.reshape(-1, z.shape[-1])).view(-1, self.top_channels, self.side, self.side)
        images = self.features(h)                                   # (prod(leading), C, H, W)
        return images.view(*leading, *images.shape[1:])


class DCGANDiscriminator(nn.Module):
    """(B, C, H, W) → logits d(x), shape (B,)."""

    def __init__(self, image_shape: tuple[int, int, int], channels: tuple[int, ...]):
        super().__init__()
        layers, side = downsampling_convs(image_shape, channels, lambda: nn.LeakyReLU(0.2))
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels[-1] * side * side, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)
