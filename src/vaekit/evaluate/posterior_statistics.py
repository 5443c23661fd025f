"""What a posterior q(z|x) and prior p(z) tell about a batch, for any posterior family.

The diagonal Gaussian q with the N(0, I) prior has everything in closed form. A flow posterior,
a learned prior or a hierarchical VAE's two-layer q has no closed-form KL and no per-dimension
KL: the KL is then the Monte-Carlo mean of log q(z|x) − log p(z) over draws z ~ q(z|x)
(``vaekit.distributions.kl_term``), and the per-dimension KL is not reported.
"""
from __future__ import annotations

import torch
from torch.distributions import Distribution, Independent, Normal

from vaekit.distributions import kl_per_dimension, kl_term


def gaussian_parts(distribution: Distribution) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(means, stds) of a diagonal Gaussian ``Independent(Normal)``, else None."""
    if isinstance(distribution, Independent) and isinstance(distribution.base_dist, Normal):
        return distribution.base_dist.loc, distribution.base_dist.scale
    return None


def is_factorised(posterior: Distribution, prior: Distribution) -> bool:
    """Both diagonal Gaussians: the KL is a closed-form sum over dimensions."""
    return gaussian_parts(posterior) is not None and gaussian_parts(prior) is not None


def batch_kl(posterior: Distribution, prior: Distribution, num_samples: int = 8) -> tuple[torch.Tensor, torch.Tensor | None]:
    """KL(q(z|x) || p(z)) per example (B,), and per dimension (B, D) where it is defined (else None)."""
    if is_factorised(posterior, prior):
        per_dimension = kl_per_dimension(posterior, prior)
        return per_dimension.sum(-1), per_dimension
    return kl_term(posterior, prior, posterior.rsample((num_samples,))), None
