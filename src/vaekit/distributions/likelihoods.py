"""Observation models p(x|z) over images, built from decoder outputs.

Each likelihood turns the decoder's raw output into an ``Independent`` distribution over
(C, H, W), so ``-likelihood.log_prob(x)`` is the reconstruction term in nats, ``.mean``
is the "mean image" and ``.sample()`` the "sampled image".
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.distributions import Bernoulli, ContinuousBernoulli, Distribution, Independent, Normal

from vaekit.registry import Registry

LIKELIHOODS: Registry[type["Likelihood"]] = Registry("likelihood")


class Likelihood(nn.Module):
    """Maps decoder output (..., C, H, W) to p(x|z) with event shape (C, H, W); ``scale`` is used by
    the Gaussian likelihoods (fixed σ, or the initial σ of the learned one)."""

    def __init__(self, image_shape: tuple[int, int, int], scale: float = 1.0):
        super().__init__()
        self.image_shape = tuple(image_shape)

    def forward(self, output: torch.Tensor) -> Distribution:
        raise NotImplementedError


@LIKELIHOODS.register("bernoulli")
class BernoulliLikelihood(Likelihood):
    """p(x|z) = Π_i λ_i^{x_i} (1−λ_i)^{1−x_i}, λ = sigmoid(logits); x must be binary."""

    def forward(self, logits: torch.Tensor) -> Distribution:
        return Independent(Bernoulli(logits=logits, validate_args=False), 3, validate_args=False)


@LIKELIHOODS.register("continuous-bernoulli")
class ContinuousBernoulliLikelihood(Likelihood):
    """Continuous Bernoulli (Loaiza-Ganem & Cunningham 2019): p(x|λ) = C(λ) λ^x (1−λ)^{1−x} on [0, 1]."""

    def forward(self, logits: torch.Tensor) -> Distribution:
        return Independent(ContinuousBernoulli(logits=logits, validate_args=False), 3, validate_args=False)


@LIKELIHOODS.register("gaussian")
class GaussianLikelihood(Likelihood):
    """p(x|z) = N(x; μ(z), s² I) with a fixed std s: −log p = ‖x−μ‖²/(2s²) + (D/2) log(2πs²)."""

    def __init__(self, image_shape: tuple[int, int, int], scale: float = 1.0):
        super().__init__(image_shape)
        if not scale > 0:
            raise ValueError(f"likelihood_scale must be > 0, got {scale}")
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, mean: torch.Tensor) -> Distribution:
        return Independent(Normal(mean, self.scale.expand_as(mean), validate_args=False), 3, validate_args=False)


@LIKELIHOODS.register("gaussian-learned")
class LearnedGaussianLikelihood(Likelihood):
    """p(x|z) = N(x; μ(z), diag σ²) with one learned log σ per pixel (shared across data points)."""

    def __init__(self, image_shape: tuple[int, int, int], scale: float = 1.0):
        super().__init__(image_shape)
        self.log_scale = nn.Parameter(torch.full(self.image_shape, math.log(scale)))

    def forward(self, mean: torch.Tensor) -> Distribution:
        scale = torch.exp(self.log_scale.clamp(min=-9.0)).expand_as(mean)
        return Independent(Normal(mean, scale, validate_args=False), 3, validate_args=False)


def make_likelihood(name: str, image_shape: tuple[int, int, int], scale: float = 1.0) -> Likelihood:
    return LIKELIHOODS[name](image_shape, scale)
