"""FactorVAE (Kim & Mnih 2018): a VAE and a discriminator D(z) over its codes.

D is an MLP (6 × 1000 LeakyReLU units by default, as the paper and disentanglement_lib)
with two logits: "z from q(z)" and "z from Π_d q(z_d)". It is part of the model so that it
is saved, checkpointed and resumed with it; ``objectives.factor_vae`` trains both.
"""
from __future__ import annotations

from torch import nn

from vaekit.models.base import MODELS
from vaekit.models.vae import VAE


def discriminator_network(in_features: int, hidden: tuple[int, ...], out_features: int = 2) -> nn.Sequential:
    """Linear + LeakyReLU(0.2) layers of widths ``hidden``, then ``out_features`` logits (the GAN's MLP D uses 1)."""
    widths = (in_features, *hidden)
    layers: list[nn.Module] = []
    for width_in, width_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(width_in, width_out), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Linear(widths[-1], out_features))


@MODELS.register("factor-vae")
class FactorVAE(VAE):
    kind = "factor-vae"
    objectives = ("factor-vae",)

    def __init__(self, config=None, **fields):
        super().__init__(config, **fields)
        self.discriminator = discriminator_network(self.config.latent_dim, self.config.discriminator_hidden)

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Disjoint parameter sets, one optimizer each: the VAE's and the discriminator's."""
        d_ids = {id(p) for p in self.discriminator.parameters()}
        return {"model": [p for p in self.parameters() if id(p) not in d_ids],
                "discriminator": list(self.discriminator.parameters())}
