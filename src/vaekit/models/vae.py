"""Variational autoencoder (Kingma & Welling 2014; Rezende et al. 2014).

q(z|x) = N(μ(x), diag σ²(x)) or a flow on it (``model.posterior``),  p(z) = N(0, I) or a
learned prior (``model.prior``),  p(x|z) a likelihood over pixels. The objectives (ELBO,
IWAE, β-VAE) live in ``vaekit.objectives``; the model only maps.
"""
from __future__ import annotations

import torch
from torch.distributions import Distribution

from vaekit.distributions.posterior import make_posterior
from vaekit.distributions.priors import make_prior
from vaekit.models.base import MODELS, Model


@MODELS.register("vae")
class VAE(Model):
    kind = "vae"
    objectives = ("elbo", "iwae")

    def __init__(self, config=None, **fields):
        super().__init__(config, **fields)
        self.posterior_family = make_posterior(self.config)          # encoder features → q(z|x)
        self.encoder = self._encoder(self.posterior_family.num_inputs)
        self.decoder = self._decoder()
        self.prior_family = make_prior(self.config)                  # () → p(z)
        self.register_buffer("_prior_anchor", torch.zeros(()), persistent=False)

    def encode(self, x: torch.Tensor) -> Distribution:
        """q(z|x), batch shape (B,), event shape (latent_dim,)."""
        return self.posterior_family(self.encoder(x))

    def prior(self) -> Distribution:
        return self.prior_family(self)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x).mean

    def sample_latents(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ p(z), shape (num_samples, latent_dim); reproducible with ``generator``."""
        if self.config.prior == "standard":
            return torch.randn(num_samples, self.config.latent_dim, generator=generator,
                               device=self._prior_anchor.device, dtype=self._prior_anchor.dtype)
        seed = None if generator is None else int(torch.randint(2 ** 62, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            return self.prior().sample((num_samples,))

    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> Distribution:
        """p(x|z) for z ~ p(z): ``.mean`` gives mean images, ``.sample()`` pixel samples."""
        return self.decode(self.sample_latents(num_samples, generator))
