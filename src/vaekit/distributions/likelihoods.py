"""Observation models p(x|z) over images, built from decoder outputs.

Each likelihood turns the decoder's raw output into an ``Independent`` distribution over
(C, H, W), so ``-likelihood.log_prob(x)`` is the reconstruction term in nats, ``.mean``
is the "mean image" and ``.sample()`` the "sampled image".
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Bernoulli, ContinuousBernoulli, Distribution, Independent, Normal

from vaekit.distributions.discretized_logistic import DiscretizedLogistic
from vaekit.registry import Registry

LIKELIHOODS: Registry[type["Likelihood"]] = Registry("likelihood")


class Likelihood(nn.Module):
    """Maps decoder output (..., C, H, W) to p(x|z) with event shape (C, H, W); ``scale`` is used by
    the Gaussian likelihoods (fixed σ, or the initial σ of the learned one)."""

    outputs_per_pixel = 1      # decoder outputs per pixel: the decoder emits (..., C·m, H, W)

    def __init__(self, image_shape: tuple[int, int, int], scale: float = 1.0):
        super().__init__()
        self.image_shape = tuple(image_shape)

    def forward(self, output: torch.Tensor) -> Distribution:
        raise NotImplementedError


class BernoulliImage(Independent):
    """``Independent(Bernoulli(logits=l), 3)`` whose log-density is two reductions over the pixels,

        log p(x|z) = Σ_i x_i l_i − Σ_i softplus(l_i),

    the same value as torch's elementwise binary cross-entropy (up to float rounding), without its
    five full-size passes and temporaries over the (k, B, C, H, W) logits: the importance-sampled
    log p(x) spends most of its time here (``bench/evaluate_speed.py``)."""

    def __init__(self, logits: torch.Tensor):
        super().__init__(Bernoulli(logits=logits, validate_args=False), 3, validate_args=False)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        logits = self.base_dist.logits.flatten(-3)
        return (logits * value.flatten(-3)).sum(-1) - F.softplus(logits).sum(-1)


@LIKELIHOODS.register("bernoulli")
class BernoulliLikelihood(Likelihood):
    """p(x|z) = Π_i λ_i^{x_i} (1−λ_i)^{1−x_i}, λ = sigmoid(logits); x must be binary."""

    def forward(self, logits: torch.Tensor) -> Distribution:
        return BernoulliImage(logits)


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


@LIKELIHOODS.register("discretized-logistic")
class DiscretizedLogisticLikelihood(Likelihood):
    """8-bit pixels x = k/255: p(x|z) = Π_i P(k_i; μ_i(z), s_i(z)), a logistic binned onto the 256
    levels with edge bins to ±∞ (Kingma et al. 2016; Salimans et al. 2017; see
    ``distributions.discretized_logistic``). The decoder emits 2C channels, [μ, log s], per pixel;
    log s is clipped to [−7, 7] as in PixelCNN++ (its lower end). ``log_prob`` is the exact log of a
    discrete probability, so −log p(x|z) ≥ 0 and bits/dim compare with those of flows on 8-bit data."""

    outputs_per_pixel = 2

    def forward(self, output: torch.Tensor) -> Distribution:
        channels = self.image_shape[0]
        if output.shape[-3] != 2 * channels:
            raise ValueError(f"the discretized-logistic likelihood needs 2C = {2 * channels} decoder channels "
                             f"(μ and log s per pixel), got output of shape {tuple(output.shape)}")
        loc, log_scale = output.chunk(2, dim=-3)                             # (..., C, H, W) each
        return Independent(DiscretizedLogistic(loc, log_scale.clamp(-7.0, 7.0)), 3, validate_args=False)


def make_likelihood(name: str, image_shape: tuple[int, int, int], scale: float = 1.0) -> Likelihood:
    return LIKELIHOODS[name](image_shape, scale)
