"""Paths between two codes: linear z(t) = (1−t) z0 + t z1, or spherical (slerp).

slerp(z0, z1; t) = sin((1−t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1, cos Ω = ⟨z0, z1⟩/(‖z0‖‖z1‖)
(Shoemake 1985; White 2016 for generative models): it keeps the norm typical of N(0, I) samples.
"""
from __future__ import annotations

import torch


def slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of (..., D) codes at times t of shape (T,); returns (T, ..., D)."""
    t = t.view(-1, *([1] * z0.dim()))
    cosine = (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))
    omega = torch.arccos(cosine.clamp(-1 + 1e-7, 1 - 1e-7))
    sine = torch.sin(omega)
    # coefficients first: at t = 0 and t = 1 they are exactly (1, 0) and (0, 1)
    return (torch.sin((1 - t) * omega) / sine) * z0 + (torch.sin(t * omega) / sine) * z1


METHODS = ("linear", "slerp")


def path(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor, method: str = "linear") -> torch.Tensor:
    """Codes at times ``t`` (T,) on the linear or spherical path from z0 to z1 (both (..., D)); (T, ..., D)."""
    if method == "linear":
        t = t.view(-1, *([1] * z0.dim()))
        return (1 - t) * z0 + t * z1
    if method == "slerp":
        return slerp(z0, z1, t)
    raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """``steps`` codes from z0 to z1 (both included), shape (steps, ..., D)."""
    if steps < 2:
        raise ValueError(f"steps must be ≥ 2, got {steps}")
    return path(z0, z1, torch.linspace(0, 1, steps, dtype=z0.dtype), method)
