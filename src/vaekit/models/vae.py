"""Variational autoencoder (Kingma & Welling 2014; Rezende et al. 2014).

q(z|x) = N(μ(x), diag σ²(x)),  p(z) = N(0, I),  p(x|z) a likelihood over pixels.
The objectives (ELBO, IWAE, β-VAE) live in ``vaekit.objectives``; the model only maps.
"""
from __future__ import annotations

import torch
from torch.distributions import Distribution, Independent

from vaekit.distributions import diagonal_gaussian, standard_normal
from vaekit.models.base import MODELS, Model


@MODELS.register("vae")
class VAE(Model):
    kind = "vae"
    objectives = ("elbo", "iwae")

    def __init__(self, config=None, **fields):
        super().__init__(config, **fields)
        self.encoder = self._encoder(2 * self.config.latent_dim)
        self.decoder = self._decoder()
        self.register_buffer("_prior_anchor", torch.zeros(()), persistent=False)

    def encode(self, x: torch.Tensor) -> Independent:
        """q(z|x), batch shape (B,), event shape (latent_dim,)."""
        return diagonal_gaussian(self.encoder(x))

    def prior(self) -> Independent:
        return standard_normal(self.config.latent_dim, like=self._prior_anchor)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x).mean

    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> Distribution:
        """p(x|z) for z ~ p(z): ``.mean`` gives mean images, ``.sample()`` pixel samples."""
        z = torch.randn(num_samples, self.config.latent_dim, generator=generator,
                        device=self._prior_anchor.device, dtype=self._prior_anchor.dtype)
        return self.decode(z)
