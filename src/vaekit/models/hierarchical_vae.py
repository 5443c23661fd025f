"""VAE with two stochastic layers (Burda et al. 2016, §5) and ladder inference (Sønderby et al. 2016).

Generative model (Burda et al.'s 784-(200-200)-100-(100-100)-50 with tanh):

    p(z2) = N(0, I),   p(z1|z2) = N(μ(z2), diag σ²(z2))  [MLP D2 → hidden_upper → (D1, D1)],
    p(x|z1) = the likelihood of an MLP D1 → hidden (reversed) → pixels.

Inference (``model.inference``):

- ``bottom-up``: q(z|x) = q(z1|x) q(z2|z1), MLPs x → hidden → (D1, D1) and z1 → hidden_upper → (D2, D2).
- ``ladder`` (LVAE, eq. 17-21): a deterministic bottom-up pass d1 = h(x), d2 = h(d1) with
  (μ̂1, log σ̂1²) = Linear(d1), (μ̂2, log σ̂2²) = Linear(d2); then top-down q(z2|x) = N(μ̂2, σ̂2²) and
  q(z1|z2, x) ∝ N(μ̂1, σ̂1²) · p(z1|z2), with the generative p(z1|z2) shared. (LVAE's batch norm,
  softplus variances and warm-up are left out: variances are exp(log σ²) as everywhere in vaekit.)

The model is a VAE on z = concat(z1, z2) of size D = D1 + D2 (``model.latent_dim`` is set to D):
``encode`` and ``prior`` return ``TwoLayerGaussian`` distributions over that vector and ``decode``
reads its first D1 coordinates, so the objectives, estimates and metrics of a VAE run unchanged.
"""
from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from vaekit.config import ConfigError, ModelConfig
from vaekit.distributions.hierarchical import GaussianNetwork, PrecisionWeighted, TwoLayerGaussian
from vaekit.distributions.posterior import diagonal_gaussian, standard_normal
from vaekit.models.base import MODELS, Model
from vaekit.models.vae import VAE
from vaekit.nn import MLP, activation


def hidden_layers(in_features: int, widths: tuple[int, ...], act: str) -> nn.Module:
    """x → act(Linear(x)) → ... through ``widths``; the identity when ``widths`` is empty."""
    if not widths:
        return nn.Identity()
    return nn.Sequential(MLP(in_features, widths[:-1], widths[-1], act), activation(act))


class BottomUpInference(nn.Module):
    """q(z1|x) = N(MLP(x)), q(z2|z1) = N(MLP(z1)) (Burda et al. 2016)."""

    def __init__(self, config: ModelConfig, num_pixels: int):
        super().__init__()
        (d1, d2), act = config.latent_dims, config.activation
        self.lower = nn.Sequential(nn.Flatten(), MLP(num_pixels, config.hidden, 2 * d1, act))   # x → [μ1, log σ1²]
        self.upper = MLP(d1, config.hidden_upper, 2 * d2, act)                              # z1 → [μ2, log σ2²]
        self.sizes = (d1, d2)

    def forward(self, x: torch.Tensor, top_down: nn.Module) -> TwoLayerGaussian:
        return TwoLayerGaussian(diagonal_gaussian(self.lower(x)), GaussianNetwork(self.upper), self.sizes, 0)


class LadderInference(nn.Module):
    """q(z2|x) = N(μ̂2, σ̂2²), q(z1|z2, x) ∝ N(μ̂1, σ̂1²) p(z1|z2) (Sønderby et al. 2016, eq. 17-21)."""

    def __init__(self, config: ModelConfig, num_pixels: int):
        super().__init__()
        (d1, d2), act = config.latent_dims, config.activation
        width1 = config.hidden[-1] if config.hidden else num_pixels
        width2 = config.hidden_upper[-1] if config.hidden_upper else width1
        self.lower = nn.Sequential(nn.Flatten(), hidden_layers(num_pixels, config.hidden, act))  # x → d1
        self.upper = hidden_layers(width1, config.hidden_upper, act)                             # d1 → d2
        self.lower_gaussian = nn.Linear(width1, 2 * d1)                       # d1 → [μ̂1, log σ̂1²]
        self.upper_gaussian = nn.Linear(width2, 2 * d2)                       # d2 → [μ̂2, log σ̂2²]
        self.sizes = (d1, d2)

    def forward(self, x: torch.Tensor, top_down: nn.Module) -> TwoLayerGaussian:
        deterministic1 = self.lower(x)                                  # (B, width1)
        deterministic2 = self.upper(deterministic1)                     # (B, width2)
        bottom_up = diagonal_gaussian(self.lower_gaussian(deterministic1))
        return TwoLayerGaussian(diagonal_gaussian(self.upper_gaussian(deterministic2)),
                                PrecisionWeighted(bottom_up, GaussianNetwork(top_down)), self.sizes, 1)


INFERENCE = {"bottom-up": BottomUpInference, "ladder": LadderInference}


def check_config(config: ModelConfig) -> ModelConfig:
    """Refuse, naming the key, what a two-layer Gaussian hierarchy cannot be."""
    if config.architecture != "mlp":
        raise ConfigError(f"model.architecture must be mlp for hierarchical-vae, got {config.architecture!r}")
    if len(config.latent_dims) != 2 or min(config.latent_dims) < 1:
        raise ConfigError("model.latent_dims: hierarchical-vae supports two stochastic layers, sizes [D1, D2] "
                          f"from the bottom up, each >= 1 (Burda et al.: [100, 50]); got {list(config.latent_dims)}")
    if config.inference not in INFERENCE:
        raise ConfigError(f"model.inference must be {' or '.join(INFERENCE)}, got {config.inference!r}")
    if config.posterior != "gaussian":
        raise ConfigError(f"model.posterior must be gaussian for hierarchical-vae, got {config.posterior!r}: "
                          "an IAF/planar flow needs a single vector latent; hierarchical-vae's z is two layers")
    if config.prior != "standard":
        raise ConfigError(f"model.prior must be standard for hierarchical-vae, got {config.prior!r}: "
                          "its prior is p(z2) p(z1|z2) with p(z2) = N(0, I)")
    return dataclasses.replace(config, latent_dim=sum(config.latent_dims))


@MODELS.register("hierarchical-vae")
class HierarchicalVAE(VAE):
    kind = "hierarchical-vae"
    objectives = ("elbo", "iwae")

    def __init__(self, config: ModelConfig | None = None, **fields):
        Model.__init__(self, config, **fields)                # not VAE.__init__: its one-layer networks
        self.config = c = check_config(self.config)
        d1, d2 = c.latent_dims
        self.inference = INFERENCE[c.inference](c, self.num_pixels)                # x → q(z|x)
        self.top_down = MLP(d2, c.hidden_upper[::-1], 2 * d1, c.activation)        # z2 → [μ(z2), log σ²(z2)]
        self.decoder = nn.Sequential(MLP(d1, c.hidden[::-1], math.prod(self.decoder_shape), c.activation),
                                     nn.Unflatten(-1, self.decoder_shape))         # z1 → p(x|z1) parameters
        self.register_buffer("_prior_anchor", torch.zeros(()), persistent=False)

    def encode(self, x: torch.Tensor) -> TwoLayerGaussian:
        """q(z|x) over z = (z1, z2), batch shape (B,), event shape (D1 + D2,)."""
        return self.inference(x, self.top_down)

    def prior(self) -> TwoLayerGaussian:
        """p(z) = N(z2; 0, I) N(z1; μ(z2), diag σ²(z2)), event shape (D1 + D2,)."""
        root = standard_normal(self.config.latent_dims[1], like=self._prior_anchor)
        return TwoLayerGaussian(root, GaussianNetwork(self.top_down), self.config.latent_dims, 1)

    def decode(self, z: torch.Tensor):
        """p(x|z1) for z of shape (..., D1 + D2): only z1 = z[..., :D1] is read; batch shape (...)."""
        return self.likelihood(self.decoder(z[..., :self.config.latent_dims[0]]))

    @torch.no_grad()
    def sample_latents(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ p(z2) p(z1|z2), shape (num_samples, D1 + D2); reproducible with ``generator``."""
        noise = torch.randn(num_samples, self.config.latent_dim, generator=generator,
                            device=self._prior_anchor.device, dtype=self._prior_anchor.dtype)
        return self.prior().reparameterize(noise)
