"""Priors p(z): the standard normal, and learned priors registered beside it.

A *prior family* is a module whose ``forward(model)`` returns p(z) as a ``Distribution``
with event shape (latent_dim,). It receives the model so that a prior built from the encoder
(VampPrior) can call ``model.encode`` without the module tree holding the model twice.

The learned priors are mixtures, ``MixtureSameFamily`` (``DiagonalGaussianMixture``, whose
log-density is two matrix products): KL(q(z|x) || p(z)) has no closed form
against them, so ``kl_term`` estimates it by Monte Carlo, E_q[log q(z|x) − log p(z)], and
per-dimension KLs (free bits, KL-per-dimension diagnostics) do not exist.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical, Distribution, Independent, MixtureSameFamily, Normal

from vaekit.config import ConfigError, ModelConfig
from vaekit.distributions.posterior import diagonal_gaussian, standard_normal
from vaekit.registry import Registry

PRIORS: Registry[type["PriorFamily"]] = Registry("prior")

# VampPrior pseudo-inputs start near a blank image: u_k ~ N(0.05, 0.01²) (Tomczak & Welling's MNIST code)
PSEUDO_INPUT_MEAN, PSEUDO_INPUT_STD = 0.05, 0.01


class DiagonalGaussianMixture(MixtureSameFamily):
    """``MixtureSameFamily`` of K diagonal Gaussians whose log-density is two matrix products:

        log N(z; μ_k, diag σ_k²) = −½ [ Σ_d z_d²/σ_kd² − 2 Σ_d z_d μ_kd/σ_kd² + Σ_d (μ_kd²/σ_kd² + log 2πσ_kd²) ],
        log p(z) = logsumexp_k (log π_k + log N(z; μ_k, diag σ_k²)),

    i.e. (N, D) @ (D, K) products instead of torch's (N, K, D) broadcast of elementwise terms (the
    VampPrior's K = 500 made its k = 5000 evaluation take tens of minutes). The expansion cancels
    when z is near μ_k, so it runs in float64 and returns z's dtype. Same value and gradients as
    ``MixtureSameFamily.log_prob`` (tests/distributions/test_priors.py)."""

    def __init__(self, mixture: Categorical, components: Independent):
        if not (isinstance(components, Independent) and isinstance(components.base_dist, Normal)
                and components.reinterpreted_batch_ndims == 1 and len(components.batch_shape) == 1):
            raise TypeError(f"DiagonalGaussianMixture needs K diagonal Gaussians, Independent(Normal, 1) with "
                            f"batch shape (K,), got {components}")
        super().__init__(mixture, components, validate_args=False)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        normal = self.component_distribution.base_dist
        loc, scale = normal.loc.double(), normal.scale.double()                 # (K, D)
        precision = scale.pow(-2)
        flat = z.reshape(-1, z.shape[-1]).double()                              # (N, D)
        constant = (loc.pow(2) * precision + torch.log(2 * math.pi * scale.pow(2))).sum(-1)   # (K,)
        quadratic = flat.pow(2) @ precision.T - 2 * flat @ (loc * precision).T + constant     # (N, K)
        log_weights = torch.log_softmax(self.mixture_distribution.logits.double(), -1)
        log_density = torch.logsumexp(log_weights - 0.5 * quadratic, -1)
        return log_density.to(z.dtype).reshape(z.shape[:-1])


class PriorFamily(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.latent_dim = config.latent_dim
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)   # device and dtype


def _num_components(config: ModelConfig) -> int:
    if config.prior_components < 1:
        raise ConfigError(f"model.prior_components must be >= 1, got {config.prior_components} "
                          f"(model.prior={config.prior})")
    return config.prior_components


@PRIORS.register("standard")
class StandardNormalPrior(PriorFamily):
    """p(z) = N(0, I)."""

    def forward(self, model=None) -> Distribution:
        return standard_normal(self.latent_dim, like=self._anchor)


@PRIORS.register("vamp")
class VampPrior(PriorFamily):
    """Variational mixture of posteriors (Tomczak & Welling 2018, eq. 9):

        p(z) = (1/K) Σ_k q(z | u_k),

    the encoder's own posterior at K learned pseudo-inputs u_k of the image shape. The
    pseudo-inputs are u = hardtanh(w; 0, 1), so they stay in [0, 1] (the paper's linear layer on
    an identity matrix followed by hardtanh), with w initialised N(0.05, 0.01²).
    """

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        if config.posterior != "gaussian":
            raise ConfigError("model.prior=vamp needs model.posterior=gaussian (a mixture of the encoder's "
                              f"diagonal Gaussians at the pseudo-inputs), got {config.posterior!r}")
        if len(config.image_shape) == 0:
            raise ConfigError("model.prior=vamp needs model.image_shape (C, H, W) to shape its pseudo-inputs, "
                              f"got {config.image_shape}")
        shape = (_num_components(config), *config.image_shape)                 # (K, C, H, W)
        self.pseudo_inputs = nn.Parameter(torch.randn(shape) * PSEUDO_INPUT_STD + PSEUDO_INPUT_MEAN)

    def forward(self, model) -> MixtureSameFamily:
        pseudo_inputs = F.hardtanh(self.pseudo_inputs, 0.0, 1.0)             # (K, C, H, W) in [0, 1]
        components = model.encode(pseudo_inputs)                              # batch (K,), event (D,)
        uniform = Categorical(logits=pseudo_inputs.new_zeros(len(pseudo_inputs)), validate_args=False)
        return DiagonalGaussianMixture(uniform, components)


@PRIORS.register("mog")
class MixtureOfGaussiansPrior(PriorFamily):
    """A learned mixture of K diagonal Gaussians:

        p(z) = Σ_k π_k N(z; μ_k, diag σ_k²),   π = softmax(a),

    with means μ_k ~ N(0, I), log-variances log σ_k² = 0 and logits a_k = 0 at initialisation.
    """

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        components = _num_components(config)
        self.means = nn.Parameter(torch.randn(components, config.latent_dim))      # (K, D)
        self.logvars = nn.Parameter(torch.zeros(components, config.latent_dim))    # (K, D)
        self.logits = nn.Parameter(torch.zeros(components))                        # (K,)

    def forward(self, model=None) -> MixtureSameFamily:
        components = diagonal_gaussian(torch.cat([self.means, self.logvars], -1))  # batch (K,), event (D,)
        weights = Categorical(logits=self.logits, validate_args=False)
        return DiagonalGaussianMixture(weights, components)


def make_prior(config: ModelConfig) -> PriorFamily:
    if config.prior not in PRIORS:
        raise ConfigError(f"model.prior: unknown prior {config.prior!r}; known: {', '.join(PRIORS.names())}")
    return PRIORS[config.prior](config)
