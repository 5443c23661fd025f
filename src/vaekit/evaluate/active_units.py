"""Active units (Burda et al. 2016, §5.2).

Dimension d is active when A_d = Cov_x(E_{q(z|x)}[z_d]) ≥ δ, with δ = 0.01: the posterior
mean of z_d must move with x; an inactive dimension's posterior equals the prior everywhere.
"""
from __future__ import annotations

import torch


def posterior_mean_variance(posterior_means: torch.Tensor) -> torch.Tensor:
    """A_d = Var_x(μ_d(x)) for means of shape (N, D); returns (D,)."""
    if posterior_means.dim() != 2 or len(posterior_means) < 2:
        raise ValueError(f"expected posterior means of shape (N ≥ 2, D), got {tuple(posterior_means.shape)}")
    return posterior_means.double().var(0, unbiased=False).to(posterior_means.dtype)


def active_units(posterior_means: torch.Tensor, threshold: float = 0.01) -> int:
    """Number of dimensions d with Var_x(μ_d(x)) ≥ threshold."""
    return int((posterior_mean_variance(posterior_means) >= threshold).sum())
