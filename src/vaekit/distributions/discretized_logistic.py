"""The discretized logistic distribution over 8-bit intensities (Kingma et al. 2016, §5.2 (IAF);
Salimans et al. 2017, eq. 2 (PixelCNN++)).

A logistic with location μ and scale s = exp(log s), F(t) = σ((t − μ)/s), is binned onto the
values x = k/(L−1), k ∈ {0, …, L−1} (L = 256), with bins of width 1/(L−1) around each value and
the two edge bins extended to ±∞:

    P(k) = F(e_k⁺) − F(e_k⁻),   e_k^± = (k ± ½)/(L−1),   F(e_0⁻) = 0,   F(e_{L−1}⁺) = 1,

so Σ_k P(k) = 1 exactly. For interior bins, with a = (e_k⁺ − μ)/s, b = (e_k⁻ − μ)/s and
d = (a − b)/2 = 1/(2(L−1)s), σ(a) − σ(b) = sinh(d) / (2 cosh(a/2) cosh(b/2)), which is
evaluated in log space without cancellation however small the bin's mass:

    log P(k) = log sinh(d) − log 2 − log cosh(a/2) − log cosh(b/2),

and log P(0) = log σ(a), log P(L−1) = log σ(−b). The mean is E[x] = (1/(L−1)) Σ_{k=1}^{L−1} P(K ≥ k)
= (1/(L−1)) Σ_{j=0}^{L−2} σ(−(e_j⁺ − μ)/s); a sample is round((L−1)·t) clipped to {0, …, L−1} for
t ~ Logistic(μ, s), which has exactly the probabilities P(k).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import Distribution, constraints
from torch.distributions.utils import broadcast_all


def _log_cosh(t: torch.Tensor) -> torch.Tensor:
    """log cosh t = |t| + log(1 + e^{−2|t|}) − log 2."""
    t = t.abs()
    return t + F.softplus(-2 * t) - math.log(2)


def _log_sinh(d: torch.Tensor) -> torch.Tensor:
    """log sinh d = d + log(1 − e^{−2d}) − log 2 for d > 0."""
    return d + torch.log(-torch.expm1(-2 * d)) - math.log(2)


class DiscretizedLogistic(Distribution):
    """Element-wise over values k/(levels−1); ``loc`` and ``log_scale`` broadcast to the batch shape."""

    arg_constraints: dict = {}
    support = constraints.unit_interval
    has_rsample = False

    def __init__(self, loc: torch.Tensor, log_scale: torch.Tensor, levels: int = 256):
        self.loc, self.log_scale = broadcast_all(loc, log_scale)
        self.levels = levels
        super().__init__(self.loc.shape, validate_args=False)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log P(k) for x = k/(levels−1) (x is rounded to the nearest level)."""
        top = self.levels - 1
        k = torch.round(x * top).clamp(0, top)
        inverse_scale = torch.exp(-self.log_scale)
        upper = ((k + 0.5) / top - self.loc) * inverse_scale                    # a
        lower = ((k - 0.5) / top - self.loc) * inverse_scale                    # b
        half_width = 0.5 / top * inverse_scale                                   # d = (a − b)/2
        interior = _log_sinh(half_width) - math.log(2) - _log_cosh(upper / 2) - _log_cosh(lower / 2)
        return torch.where(k == 0, F.logsigmoid(upper), torch.where(k == top, F.logsigmoid(-lower), interior))

    @property
    def mean(self) -> torch.Tensor:
        top = self.levels - 1
        edges = (torch.arange(top, dtype=self.loc.dtype, device=self.loc.device) + 0.5) / top     # e_j⁺, (L−1,)
        above = torch.sigmoid((self.loc.unsqueeze(-1) - edges) * torch.exp(-self.log_scale).unsqueeze(-1))
        return above.sum(-1) / top                                               # (..., L−1) summed

    def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            u = torch.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
            t = self.loc + torch.exp(self.log_scale) * (torch.log(u) - torch.log1p(-u))   # Logistic(μ, s)
            top = self.levels - 1
            return torch.round(t * top).clamp(0, top) / top
