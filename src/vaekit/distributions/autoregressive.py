"""Autoregressive p(x|z) over binary images: a conditional PixelCNN (PixelVAE, Gulrajani et al. 2017).

    log p(x|z) = Σ_{i=1..H·W} log Bernoulli(x_i | σ(f_i(x_<i, s(z)))),   pixels i in raster order,

where f is the masked-convolution network of ``vaekit.nn.pixelcnn`` and s(z) the decoder's
conditioning map. ``log_prob`` evaluates every factor in one pass of the network (the masks make
logit i blind to x_≥i); ``sample`` draws x_1, x_2, ... one pixel at a time, one pass each (exact
ancestral sampling, H·W passes). E[x|z] has no closed form, so ``.mean`` raises.

Such a decoder can model the data without z, which is how it invites posterior collapse
(Bowman et al. 2016; Chen et al. 2017, "Variational Lossy Autoencoder").
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.distributions import Distribution, constraints

from vaekit.distributions.likelihoods import Likelihood
from vaekit.nn.pixelcnn import PixelCNN


class PixelCNNBernoulli(Distribution):
    """p(x|z) with batch shape ``condition.shape[:-3]`` and event shape (1, H, W).

    ``condition`` is the decoder's map s(z), shape (..., C, H, W); for z of shape (K, B, D) the batch
    shape is (K, B) and ``log_prob(x)`` broadcasts x (B, 1, H, W) over the K samples.
    """

    arg_constraints: dict = {}
    support = constraints.independent(constraints.boolean, 3)
    has_rsample = False

    def __init__(self, network: PixelCNN, condition: torch.Tensor):
        self.network, self.condition = network, condition
        _, height, width = condition.shape[-3:]
        super().__init__(condition.shape[:-3], torch.Size((1, height, width)), validate_args=False)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of p(x_i = 1 | x_<i, z) for every pixel i, shape broadcast(x, batch) + (1, H, W)."""
        batch = torch.broadcast_shapes(x.shape[:-3], self.batch_shape)
        images = x.expand(*batch, *self.event_shape).reshape(-1, *self.event_shape)                       # (N, 1, H, W)
        condition = self.condition.expand(*batch, *self.condition.shape[-3:]).reshape(-1, *self.condition.shape[-3:])
        return self.network(images, condition).view(*batch, *self.event_shape)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Σ_i log Bernoulli(x_i | x_<i, z), shape broadcast(x.shape[:-3], batch_shape); x binary."""
        logits = self.logits(x)
        return -F.binary_cross_entropy_with_logits(logits, x.expand_as(logits), reduction="none").flatten(-3).sum(-1)

    @torch.no_grad()
    def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        """x ~ p(x|z) pixel by pixel in raster order, shape sample_shape + batch_shape + (1, H, W)."""
        shape = torch.Size(sample_shape) + self.batch_shape
        channels, height, width = self.condition.shape[-3:]
        condition = self.condition.expand(*shape, channels, height, width).reshape(-1, channels, height, width)
        x = condition.new_zeros(len(condition), 1, height, width)                                        # (N, 1, H, W)
        for row in range(height):
            for column in range(width):
                # rows below `row` cannot influence it (causal masks), so the pass stops at `row`
                logits = self.network(x[:, :, :row + 1], condition[:, :, :row + 1])[:, 0, row, column]  # (N,)
                x[:, 0, row, column] = torch.bernoulli(torch.sigmoid(logits))
        return x.view(*shape, *self.event_shape)

    @property
    def mean(self) -> torch.Tensor:
        raise NotImplementedError(
            "an autoregressive p(x|z) (model.architecture=pixelcnn) has no closed-form mean E[x|z]; "
            "draw images with .sample(), or read p(x_i=1 | x_<i, z) of given images with .logits(x)")


class PixelCNNLikelihood(Likelihood):
    """Maps the decoder's conditioning map s(z) (..., C, H, W) to ``PixelCNNBernoulli``; holds the PixelCNN."""

    def __init__(self, image_shape: tuple[int, int, int], channels: int = 32, layers: int = 5):
        super().__init__(image_shape)
        if image_shape[0] != 1:
            raise ValueError(f"the PixelCNN likelihood models single-channel images, got image_shape {image_shape}")
        self.network = PixelCNN(channels, layers)

    def forward(self, condition: torch.Tensor) -> PixelCNNBernoulli:
        return PixelCNNBernoulli(self.network, condition)
