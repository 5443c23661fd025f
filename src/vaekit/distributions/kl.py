"""KL(q(z|x) || p(z)): analytic where torch.distributions knows it, Monte Carlo otherwise."""
from __future__ import annotations

import torch
from torch.distributions import Distribution, Independent, kl_divergence


def kl_term(posterior: Distribution, prior: Distribution, z: torch.Tensor | None = None) -> torch.Tensor:
    """KL(q || p) per data point, shape (B,).

    Analytic for pairs registered with ``torch.distributions.kl`` (e.g. two diagonal
    Gaussians: ½ Σ_d (σ_d² + μ_d² − 1 − log σ_d²) against N(0, I)). Otherwise the
    Monte-Carlo estimate mean_k [log q(z_k|x) − log p(z_k)] over samples ``z`` of shape (K, B, D).
    """
    try:
        return kl_divergence(posterior, prior)
    except NotImplementedError:
        if z is None:
            raise ValueError("no analytic KL for this pair: pass posterior samples z for Monte Carlo") from None
        return (posterior.log_prob(z) - prior.log_prob(z)).mean(0)


def kl_per_dimension(posterior: Independent, prior: Independent) -> torch.Tensor:
    """KL of each latent dimension, shape (B, D): factorised q and p make the KL a sum over d."""
    return kl_divergence(posterior.base_dist, prior.base_dist)
