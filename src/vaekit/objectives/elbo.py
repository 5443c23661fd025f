"""The evidence lower bound with K reparameterized samples (Kingma & Welling 2014, eq. 10).

log p(x) ≥ ELBO(x) = E_{q(z|x)}[log p(x|z)] − KL(q(z|x) || p(z)),

estimated with z_k = μ(x) + σ(x) ⊙ ε_k, ε_k ~ N(0, I), k = 1..K. Training minimises
−(E_q[log p(x|z)] − β·KL) (β-VAE, Higgins et al. 2017); the reported ``elbo`` always uses β = 1.
"""
from __future__ import annotations

import torch

from vaekit.config import ObjectiveConfig
from vaekit.distributions import kl_term
from vaekit.objectives.registry import OBJECTIVES


def elbo_terms(model, x: torch.Tensor, num_samples: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example Monte-Carlo E_q[log p(x|z)] and KL(q||p), each of shape (B,)."""
    posterior = model.encode(x)
    z = posterior.rsample((num_samples,))                    # (K, B, D)
    log_likelihood = model.decode(z).log_prob(x).mean(0)     # (B,)
    kl = kl_term(posterior, model.prior(), z)                # (B,)
    return log_likelihood, kl


@OBJECTIVES.register("elbo")
def elbo(model, x: torch.Tensor, config: ObjectiveConfig = ObjectiveConfig()):
    log_likelihood, kl = elbo_terms(model, x, config.num_samples)
    loss = -(log_likelihood - config.beta * kl).mean()
    terms = {"elbo": (log_likelihood - kl).mean(), "reconstruction": -log_likelihood.mean(), "kl": kl.mean()}
    return loss, terms
