"""The amortized posterior q(z|x) = N(μ(x), diag σ²(x)) and the prior p(z) = N(0, I).

A *posterior family* is a module that turns encoder features into q(z|x): ``num_inputs(D)``
says how many features it reads, ``family(features)`` returns a ``Distribution`` with
``rsample`` and ``log_prob``. Richer families (flows) register in ``POSTERIORS`` beside the
Gaussian, so the ELBO, IWAE and every estimate run unchanged on them.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Distribution, Independent, Normal

from vaekit.config import ConfigError, ModelConfig
from vaekit.registry import Registry

# log σ² is clamped to keep exp() finite on outliers early in training
LOGVAR_MIN, LOGVAR_MAX = -30.0, 20.0

POSTERIORS: Registry[type["PosteriorFamily"]] = Registry("posterior")


def diagonal_gaussian(params: torch.Tensor) -> Independent:
    """Split (..., 2D) encoder output into mean and log-variance: q = N(μ, diag exp(log σ²))."""
    mean, logvar = params.chunk(2, dim=-1)
    std = torch.exp(0.5 * logvar.clamp(LOGVAR_MIN, LOGVAR_MAX))
    return Independent(Normal(mean, std, validate_args=False), 1, validate_args=False)


def standard_normal(latent_dim: int, like: torch.Tensor | None = None) -> Independent:
    """p(z) = N(0, I_D) on the device/dtype of ``like``."""
    zeros = torch.zeros(latent_dim) if like is None else like.new_zeros(latent_dim)
    return Independent(Normal(zeros, torch.ones_like(zeros), validate_args=False), 1, validate_args=False)


def stop_parameter_gradients(posterior: Distribution) -> Distribution:
    """The same q(z|x) with its parameters detached: q_{⊥φ}, for STL and DReG gradients.

    ``log q_{⊥φ}(z(ε, φ)|x)`` keeps the path derivative through z and drops the score term
    ∇_φ log q_φ(z|x) (Roeder et al. 2017; Tucker et al. 2019). Diagonal Gaussians are handled
    here; other families provide ``detach_parameters()`` (and must evaluate ``log_prob`` at
    any z, not only at their own samples)."""
    if isinstance(posterior, Independent) and isinstance(posterior.base_dist, Normal):
        base = posterior.base_dist
        return Independent(Normal(base.loc.detach(), base.scale.detach(), validate_args=False),
                           posterior.reinterpreted_batch_ndims, validate_args=False)
    if hasattr(posterior, "detach_parameters"):
        return posterior.detach_parameters()
    raise ConfigError(f"objective.gradient: a {type(posterior).__name__} posterior cannot stop gradients "
                      "through its parameters (its log-density at a detached sample is not available); "
                      "use objective.gradient=standard")


class PosteriorFamily(nn.Module):
    """Encoder features (..., num_inputs) → q(z|x) with event shape (latent_dim,)."""

    supports_stop_gradient = True     # False: STL/DReG cannot run on this family (checked before training)
    density_anywhere = True           # False: log q(z|x) only at the family's own samples (no AIS from q)

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.latent_dim = config.latent_dim

    @property
    def num_inputs(self) -> int:
        raise NotImplementedError


@POSTERIORS.register("gaussian")
class GaussianPosterior(PosteriorFamily):
    """q(z|x) = N(μ(x), diag σ²(x)) from features [μ, log σ²]."""

    @property
    def num_inputs(self) -> int:
        return 2 * self.latent_dim

    def forward(self, features: torch.Tensor) -> Independent:
        return diagonal_gaussian(features)


def make_posterior(config: ModelConfig) -> PosteriorFamily:
    if config.posterior not in POSTERIORS:
        raise ConfigError(f"model.posterior: unknown posterior {config.posterior!r}; "
                          f"known: {', '.join(POSTERIORS.names())}")
    return POSTERIORS[config.posterior](config)
