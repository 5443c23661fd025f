"""Deterministic autoencoder: code = f(x), reconstruction p(x | g(f(x))).

With ``activation="identity"``, ``hidden=()`` and a Gaussian likelihood this is the linear
autoencoder whose optimum spans the top principal subspace (Baldi & Hornik 1989); with
``objective.corruption`` set it is trained as a denoising autoencoder (Vincent et al. 2008).
"""
from __future__ import annotations

import torch

from vaekit.models.base import MODELS, Model


@MODELS.register("autoencoder")
class Autoencoder(Model):
    kind = "autoencoder"
    objectives = ("reconstruction",)

    def __init__(self, config=None, **fields):
        super().__init__(config, **fields)
        self.encoder = self._encoder(self.config.latent_dim)
        self.decoder = self._decoder()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def code(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)
