"""Importance-weighted bound (Burda et al. 2016, eq. 8).

L_k(x) = E_{z_1..z_k ~ q}[ log (1/k) Σ_i p(x, z_i) / q(z_i|x) ],

with L_1 = ELBO ≤ L_k ≤ L_{k+1} → log p(x) as k → ∞. Used as a training objective and,
with large k, as the importance-sampled estimate of log p(x) (``vaekit.evaluate``).
"""
from __future__ import annotations

import math

import torch

from vaekit.config import ObjectiveConfig
from vaekit.objectives.registry import OBJECTIVES


def importance_log_weights(model, x: torch.Tensor, num_samples: int, posterior=None) -> torch.Tensor:
    """log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x), z_i ~ q(z|x); shape (K, B)."""
    posterior = model.encode(x) if posterior is None else posterior
    z = posterior.rsample((num_samples,))                    # (K, B, D)
    return model.decode(z).log_prob(x) + model.prior().log_prob(z) - posterior.log_prob(z)


def iwae_bound(model, x: torch.Tensor, num_samples: int) -> torch.Tensor:
    """L_k(x) per example, shape (B,): logsumexp_i log w_i − log k."""
    return torch.logsumexp(importance_log_weights(model, x, num_samples), 0) - math.log(num_samples)


@OBJECTIVES.register("iwae")
def iwae(model, x: torch.Tensor, config: ObjectiveConfig = ObjectiveConfig(), step: int = 0,
          dataset_size: int | None = None):
    bound = iwae_bound(model, x, config.num_samples)
    return -bound.mean(), {"iwae_bound": bound.mean()}
