"""Importance-weighted bound (Burda et al. 2016, eq. 8) and its encoder gradients.

L_k(x) = E_{z_1..z_k ~ q}[ log (1/k) Σ_i w_i ],  w_i = p(x, z_i) / q(z_i|x),

with L_1 = ELBO ≤ L_k ≤ L_{k+1} → log p(x) as k → ∞. Used as a training objective and,
with large k, as the importance-sampled estimate of log p(x) (``vaekit.evaluate``).

The reparameterized gradient of L_k for the encoder φ (``objective.gradient``):

- ``standard``: ∇_φ L_k = E[Σ_i w̃_i ∇_φ log w_i(z_i(ε_i, φ), φ)], w̃_i = w_i / Σ_j w_j
  (Burda et al. eq. 14). Its signal-to-noise ratio falls as k grows (Rainforth et al. 2018).
- ``stl``, "sticking the landing" (Roeder et al. 2017): drop the score term ∂ log q_φ/∂φ by
  evaluating log q with stopped parameters, E[Σ_i w̃_i ∂log w_i/∂z_i · ∂z_i/∂φ]. Unbiased for
  k = 1 (zero variance when q = p(z|x)); biased for k > 1 (Tucker et al. 2019, §3).
- ``dreg``, doubly reparameterized (Tucker et al. 2019, eq. 9):
      ∇_φ L_k = E[Σ_i w̃_i² ∂log w_i/∂z_i · ∂z_i/∂φ],
  unbiased for every k, with an SNR that grows with k. Implemented on one forward pass:
  log q is evaluated with stopped parameters (as STL), and a hook on z multiplies the
  gradient reaching each z_i, −w̃_i ∂log w_i/∂z_i, by w̃_i. The decoder's and prior's
  gradients Σ_i w̃_i ∇_θ log p_θ(x, z_i) do not pass through z and stay those of L_k.
"""
from __future__ import annotations

import math

import torch

from vaekit.config import ConfigError, ObjectiveConfig
from vaekit.distributions.posterior import stop_parameter_gradients
from vaekit.objectives.registry import OBJECTIVES

GRADIENTS = ("standard", "stl", "dreg")


def importance_log_weights(model, x: torch.Tensor, num_samples: int, posterior=None,
                           gradient: str = "standard") -> torch.Tensor:
    """log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x), z_i ~ q(z|x); shape (K, B).

    With ``gradient`` stl or dreg, log q is evaluated with stopped parameters (same value)."""
    posterior = model.encode(x) if posterior is None else posterior
    z = posterior.rsample((num_samples,))                    # (K, B, D)
    proposal = posterior if gradient == "standard" else stop_parameter_gradients(posterior)
    log_weights = model.decode(z).log_prob(x) + model.prior().log_prob(z) - proposal.log_prob(z)
    if gradient == "dreg" and z.requires_grad:
        normalized = torch.softmax(log_weights.detach(), 0).unsqueeze(-1)      # w̃_i, (K, B, 1)
        z.register_hook(lambda grad: grad * normalized)
    return log_weights


def iwae_bound(model, x: torch.Tensor, num_samples: int, gradient: str = "standard") -> torch.Tensor:
    """L_k(x) per example, shape (B,): logsumexp_i log w_i − log k."""
    log_weights = importance_log_weights(model, x, num_samples, gradient=gradient)
    return torch.logsumexp(log_weights, 0) - math.log(num_samples)


def check_gradient(config: ObjectiveConfig, model) -> None:
    """STL and DReG need a posterior whose log-density can be evaluated with stopped parameters."""
    if config.gradient not in GRADIENTS:
        raise ConfigError(f"objective.gradient must be one of {', '.join(GRADIENTS)}, got {config.gradient!r}")
    family = getattr(model, "posterior_family", None)
    if config.gradient != "standard" and family is not None and not family.supports_stop_gradient:
        raise ConfigError(f"objective.gradient={config.gradient} needs a posterior that can stop gradients "
                          f"through its parameters; model.posterior={model.config.posterior} cannot "
                          "(its log q(z|x) is known only along its own samples): use objective.gradient=standard")


@OBJECTIVES.register("iwae")
def iwae(model, x: torch.Tensor, config: ObjectiveConfig = ObjectiveConfig(), step: int = 0,
         dataset_size: int | None = None):
    bound = iwae_bound(model, x, config.num_samples, config.gradient)
    return -bound.mean(), {"iwae_bound": bound.mean().detach()}
