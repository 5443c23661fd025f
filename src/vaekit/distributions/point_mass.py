"""The point mass δ_g(z): what a GAN's generator "decodes" to.

x = g(z) exactly, so ``mean`` and every ``sample()`` are g(z) and the variance is 0. It has no
density with respect to Lebesgue measure on R^{C×H×W}, so ``log_prob`` refuses by name instead
of returning a number: a likelihood needs an added observation model (``evaluate.generator``).
"""
from __future__ import annotations

import torch
from torch.distributions import Distribution


class PointMass(Distribution):
    """δ at ``point`` (..., C, H, W): batch shape (...), event shape the last ``event_dims`` dims."""

    arg_constraints: dict = {}
    has_rsample = True

    def __init__(self, point: torch.Tensor, event_dims: int = 3, owner: str = "a gan"):
        self.point, self.owner = point, owner
        split = point.dim() - event_dims
        super().__init__(point.shape[:split], point.shape[split:], validate_args=False)

    @property
    def mean(self) -> torch.Tensor:
        return self.point

    @property
    def variance(self) -> torch.Tensor:
        return torch.zeros_like(self.point)

    def rsample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        return self.point.expand(self._extended_shape(sample_shape))

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        raise ValueError(f"{self.owner} defines no density p(x|z): x = g(z) is a point mass; for log p(x) add "
                         "a Gaussian observation model N(g(z), σ² I): vaekit evaluate --estimator ais "
                         "(σ = evaluate.gan_noise_std)")
