"""The amortized posterior q(z|x) = N(μ(x), diag σ²(x)) and the prior p(z) = N(0, I)."""
from __future__ import annotations

import torch
from torch.distributions import Independent, Normal

# log σ² is clamped to keep exp() finite on outliers early in training
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0


def diagonal_gaussian(params: torch.Tensor) -> Independent:
    """Split (..., 2D) encoder output into mean and log-variance: q = N(μ, diag exp(log σ²))."""
    mean, logvar = params.chunk(2, dim=-1)
    std = torch.exp(0.5 * logvar.clamp(LOGVAR_MIN, LOGVAR_MAX))
    return Independent(Normal(mean, std, validate_args=False), 1, validate_args=False)


def standard_normal(latent_dim: int, like: torch.Tensor | None = None) -> Independent:
    """p(z) = N(0, I_D) on the device/dtype of ``like``."""
    zeros = torch.zeros(latent_dim) if like is None else like.new_zeros(latent_dim)
    return Independent(Normal(zeros, torch.ones_like(zeros), validate_args=False), 1, validate_args=False)
