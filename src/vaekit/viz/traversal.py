"""Latent traversals: sweep one latent dimension while the others stay at a fixed code.

Row d of the result decodes z with z_d = v for each v in ``values`` and z_j = z0_j for j ≠ d;
a dimension that captures one factor of variation changes one property of the image.
"""
from __future__ import annotations

import torch


@torch.no_grad()
def latent_traversal(model, z0: torch.Tensor, dimensions: list[int], values: torch.Tensor) -> torch.Tensor:
    """E[x|z] for every (dimension, value): images (len(dimensions), len(values), C, H, W)."""
    if z0.dim() != 1:
        raise ValueError(f"z0 must be one code of shape (D,), got {tuple(z0.shape)}")
    codes = z0.repeat(len(dimensions), len(values), 1)                  # (rows, columns, D)
    for row, dimension in enumerate(dimensions):
        codes[row, :, dimension] = values
    return model.decode(codes).mean
