"""Priors p(z): the standard normal, and learned priors registered beside it.

A *prior family* is a module whose ``forward(model)`` returns p(z) as a ``Distribution``
with event shape (latent_dim,). It receives the model so that a prior built from the encoder
(VampPrior) can call ``model.encode`` without the module tree holding the model twice.

The learned priors are mixtures, ``MixtureSameFamily``: KL(q(z|x) || p(z)) has no closed form
against them, so ``kl_term`` estimates it by Monte Carlo, E_q[log q(z|x) − log p(z)], and
per-dimension KLs (free bits, KL-per-dimension diagnostics) do not exist.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Categorical, Distribution, MixtureSameFamily

from vaekit.config import ConfigError, ModelConfig
from vaekit.distributions.posterior import diagonal_gaussian, standard_normal
from vaekit.registry import Registry

PRIORS: Registry[type["PriorFamily"]] = Registry("prior")

# VampPrior pseudo-inputs start near a blank image: u_k ~ N(0.05, 0.01²) (Tomczak & Welling's MNIST code)
PSEUDO_INPUT_MEAN, PSEUDO_INPUT_STD = 0.05, 0.01


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
        return MixtureSameFamily(uniform, components, validate_args=False)


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
        return MixtureSameFamily(weights, components, validate_args=False)


def make_prior(config: ModelConfig) -> PriorFamily:
    if config.prior not in PRIORS:
        raise ConfigError(f"model.prior: unknown prior {config.prior!r}; known: {', '.join(PRIORS.names())}")
    return PRIORS[config.prior](config)
