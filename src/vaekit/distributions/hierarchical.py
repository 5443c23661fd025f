"""Two stochastic layers z = (z1, z2) as one Distribution over the concatenated vector.

Every density of a two-layer Gaussian model (Burda et al. 2016, §5; Sønderby et al. 2016)
factorises along an ancestral order: a *root* layer r, a diagonal Gaussian given x (or
unconditional), then the other layer c, a diagonal Gaussian given r:

    log q(z) = log N(z_r; μ_r, diag σ_r²) + log N(z_c; μ_c(z_r), diag σ_c²(z_r)),

with z = concat(z1, z2) of size D = D1 + D2. It is sampled by reparameterization,
z_r = μ_r + σ_r ⊙ ε_r, z_c = μ_c(z_r) + σ_c(z_r) ⊙ ε_c with ε ~ N(0, I_D), and its density
can be evaluated at any z, so the ELBO, the IWAE bound, the IS estimate of log p(x) and the
Monte-Carlo KL run on it unchanged. Three instances:

- bottom-up q(z|x) = q(z1|x) q(z2|z1)              (Burda et al.): root z1;
- prior p(z) = p(z2) p(z1|z2), p(z2) = N(0, I):   root z2;
- ladder q(z|x) = q(z2|x) q(z1|z2, x)              (Sønderby et al. 2016, eq. 17-21): root z2,
  q(z1|z2, x) ∝ N(z1; μ̂1(x), σ̂1²(x)) · p(z1|z2), the precision-weighted merge of the
  bottom-up estimate and the generative top-down p(z1|z2).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.distributions import Distribution, Independent, Normal, constraints
from torch.func import functional_call

from vaekit.distributions.posterior import diagonal_gaussian


def detach_gaussian(gaussian: Independent) -> Independent:
    """The same N(μ, diag σ²) with μ and σ cut from the graph."""
    return Independent(Normal(gaussian.mean.detach(), gaussian.stddev.detach(), validate_args=False), 1,
                       validate_args=False)


def precision_weighted(first: Independent, second: Independent) -> Independent:
    """N(μ_a, σ_a²) · N(μ_b, σ_b²), normalised, per dimension (Sønderby et al. 2016, eq. 19-21):

        σ² = 1 / (σ_a⁻² + σ_b⁻²),   μ = (μ_a σ_a⁻² + μ_b σ_b⁻²) σ².

    Computed from log-variances, μ = w μ_a + (1 − w) μ_b with w = σ_a⁻² σ² = sigmoid(log σ_b² − log σ_a²)
    and log σ² = −logaddexp(−log σ_a², −log σ_b²), so variances near the clamps of
    ``diagonal_gaussian`` do not overflow."""
    log_var_a, log_var_b = 2 * first.stddev.log(), 2 * second.stddev.log()
    weight = torch.sigmoid(log_var_b - log_var_a)                   # σ_a⁻² / (σ_a⁻² + σ_b⁻²)
    mean = weight * first.mean + (1 - weight) * second.mean
    std = torch.exp(-0.5 * torch.logaddexp(-log_var_a, -log_var_b))
    return Independent(Normal(mean, std, validate_args=False), 1, validate_args=False)


class GaussianNetwork:
    """u ↦ N(μ(u), diag σ²(u)), the network's output read as [μ, log σ²] (``diagonal_gaussian``).

    With ``weights`` (name → tensor) the network runs on those instead of its own parameters."""

    def __init__(self, network: nn.Module, weights: dict[str, torch.Tensor] | None = None):
        self.network, self.weights = network, weights

    def __call__(self, u: torch.Tensor) -> Independent:
        features = self.network(u) if self.weights is None else functional_call(self.network, self.weights, (u,))
        return diagonal_gaussian(features)

    def detach(self) -> "GaussianNetwork":
        """The same map with detached weights: differentiable in u, in no parameter."""
        return GaussianNetwork(self.network, {name: p.detach() for name, p in self.network.named_parameters()})


class PrecisionWeighted:
    """u ↦ ``precision_weighted(bottom_up, top_down(u))``: the ladder's q(z1|z2, x) given u = z2."""

    def __init__(self, bottom_up: Independent, top_down: GaussianNetwork):
        self.bottom_up, self.top_down = bottom_up, top_down

    def __call__(self, u: torch.Tensor) -> Independent:
        return precision_weighted(self.bottom_up, self.top_down(u))

    def detach(self) -> "PrecisionWeighted":
        return PrecisionWeighted(detach_gaussian(self.bottom_up), self.top_down.detach())


class TwoLayerGaussian(Distribution):
    """z = concat(z1, z2), event shape (D1 + D2,): the root layer ``root`` (z1 if ``root_layer``
    is 0, z2 if 1) ~ N(μ_r, diag σ_r²), then the other layer ~ ``conditional(z_root)``.

    ``mean`` is the ancestral path with means plugged in, (μ_r, μ_c(μ_r)) in layer order: the
    root's exact mean, but for the other layer μ_c(E z_r), not E[μ_c(z_r)] (they differ when μ_c
    is nonlinear). It is the deterministic code ``VAE.code`` returns."""

    arg_constraints: dict = {}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, root: Independent, conditional: GaussianNetwork | PrecisionWeighted,
                 sizes: tuple[int, int], root_layer: int):
        self.root, self.conditional = root, conditional
        self.sizes, self.root_layer = tuple(sizes), root_layer
        super().__init__(root.batch_shape, torch.Size([sum(self.sizes)]), validate_args=False)

    def _split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(..., D) → (root part, other part)."""
        z1, z2 = z.split(self.sizes, dim=-1)
        return (z1, z2) if self.root_layer == 0 else (z2, z1)

    def _join(self, root: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        return torch.cat((root, other) if self.root_layer == 0 else (other, root), dim=-1)

    def reparameterize(self, noise: torch.Tensor) -> torch.Tensor:
        """z(ε) for ε of shape (..., *batch_shape, D): ε[..., :D1] drives z1, ε[..., D1:] drives z2."""
        noise_root, noise_other = self._split(noise)
        root = self.root.mean + self.root.stddev * noise_root            # (..., B, D_r)
        other = self.conditional(root)                                  # batch (..., B), event (D_c,)
        return self._join(root, other.mean + other.stddev * noise_other)

    def rsample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        mean = self.root.mean
        noise = torch.randn(self._extended_shape(sample_shape), dtype=mean.dtype, device=mean.device)
        return self.reparameterize(noise)                              # (*sample_shape, *batch_shape, D)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log N(z_r; μ_r, σ_r²) + log N(z_c; μ_c(z_r), σ_c²(z_r)), shape z.shape[:-1]."""
        root, other = self._split(z)
        return self.root.log_prob(root) + self.conditional(root).log_prob(other)

    @property
    def mean(self) -> torch.Tensor:
        root = self.root.mean.expand(*self.batch_shape, self.root.event_shape[0])
        return self._join(root, self.conditional(root).mean)

    def detach_parameters(self) -> "TwoLayerGaussian":
        """The same density with every network weight and encoder output detached: log_prob(z) keeps
        its value and its gradient in z, and passes none to a parameter (STL, DReG)."""
        return TwoLayerGaussian(detach_gaussian(self.root), self.conditional.detach(), self.sizes, self.root_layer)
