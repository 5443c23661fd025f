"""Generative adversarial network (Goodfellow et al. 2014): a generator and a discriminator.

    z ~ p(z) = N(0, I),   x = g(z) ∈ [0, 1]^{C×H×W} (sigmoid output),   D(x) = σ(d(x)),

d the discriminator's logit. ``model.architecture``: ``conv`` is a small DCGAN (Radford et al.
2016; ``nn.dcgan``), ``mlp`` two MLPs of widths ``model.hidden`` (mirrored in g, LeakyReLU(0.2) in D).
A GAN defines no density: g pushes p(z) onto a latent_dim-dimensional set of images, so
``sample(n)`` returns the images g(z) themselves, ``decode(z)`` is the point mass δ_g(z) (its
``log_prob`` refuses by name) and ``model.likelihood`` is ``none``. ``evaluate.generator`` adds the Gaussian
observation model N(g(z), σ² I) of Wu et al. 2017 to estimate a log p(x). Both networks are part
of the model, so they are saved and checkpointed together; ``objectives.gan`` trains them with
one optimizer each, on ``parameter_groups()``.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Distribution, Independent, Normal

from vaekit.config import ConfigError, ModelConfig
from vaekit.distributions.point_mass import PointMass
from vaekit.models.base import MODELS, Model
from vaekit.models.factor_vae import discriminator_network
from vaekit.nn import MLP, default_channels
from vaekit.nn.dcgan import DCGANDiscriminator, DCGANGenerator


@MODELS.register("gan")
class GAN(Model):
    kind = "gan"
    objectives = ("gan",)

    def __init__(self, config: ModelConfig | None = None, **fields):
        super().__init__(config or ModelConfig(kind=self.kind, likelihood="none"), **fields)
        c = self.config
        if c.architecture == "conv":
            channels = c.conv_channels or default_channels(self.image_shape[1])
            self.generator = DCGANGenerator(c.latent_dim, channels, self.image_shape)
            self.discriminator = DCGANDiscriminator(self.image_shape, channels)
        elif c.architecture == "mlp":
            self.generator = nn.Sequential(MLP(c.latent_dim, c.hidden[::-1], self.num_pixels, c.activation),
                                           nn.Sigmoid(), nn.Unflatten(-1, self.image_shape))
            self.discriminator = nn.Sequential(nn.Flatten(), discriminator_network(self.num_pixels, c.hidden, 1),
                                               nn.Flatten(0))
        else:
            raise ConfigError(f"model.architecture must be conv (DCGAN) or mlp for a gan, got {c.architecture!r}")
        self.register_buffer("_prior_anchor", torch.zeros(()), persistent=False)

    def _likelihood(self) -> None:
        if self.config.likelihood != "none":
            raise ConfigError(f"model.likelihood must be none for a gan (it defines no p(x|z)), "
                              f"got {self.config.likelihood!r}")
        return None

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Disjoint parameter sets, one optimizer each: the generator's ("model") and the discriminator's."""
        return {"model": list(self.generator.parameters()), "discriminator": list(self.discriminator.parameters())}

    # generation -----------------------------------------------------------------
    def prior(self) -> Distribution:
        anchor = self._prior_anchor
        zeros = torch.zeros(self.config.latent_dim, device=anchor.device, dtype=anchor.dtype)
        return Independent(Normal(zeros, torch.ones_like(zeros)), 1)

    def sample_latents(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, I), shape (num_samples, latent_dim); reproducible with ``generator``."""
        return torch.randn(num_samples, self.config.latent_dim, generator=generator,
                           device=self._prior_anchor.device, dtype=self._prior_anchor.dtype)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """g(z): (..., latent_dim) → (..., C, H, W) in [0, 1]."""
        return self.generator(z)

    def decode(self, z: torch.Tensor) -> Distribution:
        """δ_g(z), batch shape (...), event shape (C, H, W): no density, mean = sample = g(z)."""
        return PointMass(self.generate(z))

    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Images g(z), z ~ p(z), shape (num_samples, C, H, W): drawn directly, as a flow's are (there is
        no pixel-noise model, so no separate mean image)."""
        return self.generate(self.sample_latents(num_samples, generator))

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """Logits d(x) of "x is data", shape (B,)."""
        return self.discriminator(x)

    # what a GAN cannot do -----------------------------------------------------------
    def code(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("a gan has no encoder: it cannot code, reconstruct or interpolate between data images; "
                         "use vaekit sample")

    def check_input(self, x: torch.Tensor, source: str = "input") -> torch.Tensor:
        """Shape, dtype and finiteness as every model, and pixels in [0, 1], the range of g(z)."""
        x = super().check_input(x, source)
        if x.min() < 0 or x.max() > 1:
            raise ValueError(f"{source}: a gan's generator outputs pixels in [0, 1] (sigmoid), "
                             f"got range [{float(x.min()):.4g}, {float(x.max()):.4g}]")
        return x
