"""Priors p(z): the standard normal, and learned priors registered beside it.

A *prior family* is a module whose ``forward(model)`` returns p(z) as a ``Distribution``
with event shape (latent_dim,). It receives the model so that a prior built from the encoder
(VampPrior) can call ``model.encode`` without the module tree holding the model twice.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Distribution

from vaekit.config import ConfigError, ModelConfig
from vaekit.distributions.posterior import standard_normal
from vaekit.registry import Registry

PRIORS: Registry[type["PriorFamily"]] = Registry("prior")


class PriorFamily(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.latent_dim = config.latent_dim
        self.register_buffer("_anchor", torch.zeros(()), persistent=False)   # device and dtype


@PRIORS.register("standard")
class StandardNormalPrior(PriorFamily):
    """p(z) = N(0, I)."""

    def forward(self, model=None) -> Distribution:
        return standard_normal(self.latent_dim, like=self._anchor)


def make_prior(config: ModelConfig) -> PriorFamily:
    if config.prior not in PRIORS:
        raise ConfigError(f"model.prior: unknown prior {config.prior!r}; known: {', '.join(PRIORS.names())}")
    return PRIORS[config.prior](config)
