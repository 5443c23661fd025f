"""Amortized normalizing-flow posteriors q(z|x): planar flows and inverse autoregressive flow.

A diagonal Gaussian is pushed through K invertible maps whose parameters depend on x:

    z_0 ~ q_0(z_0|x) = N(μ(x), diag σ²(x)),      z_K = f_K ∘ … ∘ f_1(z_0),
    log q(z_K|x) = log q_0(z_0|x) − Σ_k log |det ∂f_k/∂z_{k−1}|      (Rezende & Mohamed 2015, eq. 13).

Each f_k is a ``torch.distributions.Transform`` and q(z|x) a ``TransformedDistribution``, so the
ELBO, the IWAE bound and KL-by-Monte-Carlo run unchanged. Transforms cache their last (z_{k−1}, z_k)
pair: ``log_prob`` of the distribution's own ``rsample`` output needs no inverse.

- ``planar``: f(z) = z + û h(wᵀz + b) with (u_k, w_k, b_k) per example from the encoder. It has no
  closed-form inverse, so log q(z|x) is available only at the posterior's own samples.
- ``iaf``: T steps z ← σ_t ⊙ z + (1 − σ_t) ⊙ m_t with (m_t, s_t) from a MADE of (z, h(x)); the MADE
  weights are global, the context h(x) per example; ``log_prob`` works at any z (D passes per step).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Independent, TransformedDistribution, constraints
from torch.distributions.transforms import Transform

from vaekit.config import ConfigError, ModelConfig
from vaekit.distributions.posterior import POSTERIORS, PosteriorFamily, diagonal_gaussian
from vaekit.nn.made import MADE

IAF_GATE_BIAS = 2.0   # σ_t = sigmoid(s_t + 2) ≈ 0.88 at initialisation: each step starts near the identity


class FlowPosterior(TransformedDistribution):
    """q(z|x): the diagonal Gaussian ``base`` pushed through ``transforms`` f_1..f_K.

    ``mean`` is *not* E_q[z] (which has no closed form): it is the deterministic code
    f_K ∘ … ∘ f_1(μ0), the flow's image of the base mean μ0 = E_{q_0}[z_0]."""

    arg_constraints: dict = {}

    def __init__(self, base: Independent, transforms: list[Transform]):
        super().__init__(base, transforms, validate_args=False)

    @property
    def mean(self) -> torch.Tensor:
        z = self.base_dist.mean                                  # (B, D)
        for transform in self.transforms:
            z = transform._call(z)                               # uncached: rsample's (x, y) pairs stay cached
        return z


class PlanarTransform(Transform):
    """One planar flow (Rezende & Mohamed 2015, eq. 10-12 and Appendix A):

        f(z) = z + û h(wᵀz + b),   h = tanh,
        û = u + (m(wᵀu) − wᵀu) w / ‖w‖²,   m(a) = −1 + softplus(a),   so wᵀû = m(wᵀu) ≥ −1,
        log |det ∂f/∂z| = log |1 + ûᵀψ(z)|,   ψ(z) = h'(wᵀz + b) w,   ûᵀψ = h'(wᵀz + b) · m(wᵀu).

    With wᵀû ≥ −1 the map α ↦ α + wᵀû h(α + b) along w is increasing, so f is invertible.
    u, w have shape (B, D), b shape (B,); z broadcasts as (..., B, D)."""

    domain = constraints.independent(constraints.real, 1)
    codomain = constraints.independent(constraints.real, 1)
    bijective = True

    def __init__(self, u: torch.Tensor, w: torch.Tensor, b: torch.Tensor, cache_size: int = 1):
        super().__init__(cache_size=cache_size)
        w_dot_u = (w * u).sum(-1)                                                    # (B,)
        self.w_dot_u_hat = -1 + F.softplus(w_dot_u)                                  # m(wᵀu) = wᵀû, (B,)
        self.u_hat = u + ((self.w_dot_u_hat - w_dot_u) / (w * w).sum(-1)).unsqueeze(-1) * w   # (B, D)
        self.w, self.b = w, b

    def _call(self, z: torch.Tensor) -> torch.Tensor:
        alpha = (z * self.w).sum(-1) + self.b                                        # (..., B)
        return z + self.u_hat * torch.tanh(alpha).unsqueeze(-1)                      # (..., B, D)

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(
            "a planar flow has no closed-form inverse: log q(z|x) of a planar posterior is available only "
            "at its own samples (call log_prob on the tensor that rsample returned, before sampling again)")

    def log_abs_det_jacobian(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        derivative = 1 - torch.tanh((z * self.w).sum(-1) + self.b) ** 2             # h'(wᵀz + b), (..., B)
        return torch.log1p(derivative * self.w_dot_u_hat)                           # ≥ 0 inside: wᵀû ≥ −1


class IAFTransform(Transform):
    """One step of inverse autoregressive flow (Kingma et al. 2016, eq. 10-14, the LSTM-type update):

        (m, s) = MADE(z, h),   σ = sigmoid(s + 2),   f(z) = σ ⊙ z + (1 − σ) ⊙ m,
        log |det ∂f/∂z| = Σ_d log σ_d       (∂f/∂z is triangular in the MADE's order, diagonal σ).

    The inverse solves z_d = (y_d − (1 − σ_d) m_d) / σ_d variable by variable: D passes, each making
    one more variable of the order exact. h has shape (B, C) (or None); z broadcasts as (..., B, D)."""

    domain = constraints.independent(constraints.real, 1)
    codomain = constraints.independent(constraints.real, 1)
    bijective = True

    def __init__(self, made: MADE, context: torch.Tensor | None, cache_size: int = 1):
        super().__init__(cache_size=cache_size)
        self.made, self.context = made, context
        self._cached_log_det: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def _gate(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """m and log σ at z, each (..., B, D)."""
        shift, s = self.made(z, self.context)
        return shift, F.logsigmoid(s + IAF_GATE_BIAS)

    def _remember(self, z: torch.Tensor, y: torch.Tensor, log_sigma: torch.Tensor) -> None:
        if self._cache_size:
            self._cached_log_det = (z, y, log_sigma.sum(-1))

    def _call(self, z: torch.Tensor) -> torch.Tensor:
        shift, log_sigma = self._gate(z)
        sigma = log_sigma.exp()
        y = sigma * z + (1 - sigma) * shift
        self._remember(z, y, log_sigma)
        return y

    def _inverse(self, y: torch.Tensor) -> torch.Tensor:
        z = y
        for _ in range(self.made.num_inputs):                 # pass j fixes the j-th variable of the order
            shift, log_sigma = self._gate(z)
            sigma = log_sigma.exp()
            z = (y - (1 - sigma) * shift) / sigma
        self._remember(z, y, log_sigma)                       # the last pass read the exact z_<d of every d
        return z

    def log_abs_det_jacobian(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        cached = self._cached_log_det
        if cached is not None and cached[0] is z and cached[1] is y:
            return cached[2]
        return self._gate(z)[1].sum(-1)                       # (..., B)


def check_flow_length(config: ModelConfig) -> None:
    if config.flow_length < 1:
        raise ConfigError(f"model.flow_length must be >= 1, got {config.flow_length}")


@POSTERIORS.register("planar")
class PlanarPosterior(PosteriorFamily):
    """Features [μ, log σ², (u_k, w_k, b_k) for k = 1..K] (2D + K(2D+1)) → K planar flows on N(μ, σ²)."""

    supports_stop_gradient = False
    density_anywhere = False

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        check_flow_length(config)
        self.flow_length = config.flow_length

    @property
    def num_inputs(self) -> int:
        return 2 * self.latent_dim + self.flow_length * (2 * self.latent_dim + 1)

    def forward(self, features: torch.Tensor) -> FlowPosterior:
        d = self.latent_dim
        flows = features[..., 2 * d:].unflatten(-1, (self.flow_length, 2 * d + 1))       # (B, K, 2D+1)
        transforms = [PlanarTransform(flows[..., k, :d], flows[..., k, d:2 * d], flows[..., k, 2 * d])
                      for k in range(self.flow_length)]
        return FlowPosterior(diagonal_gaussian(features[..., :2 * d]), transforms)


@POSTERIORS.register("iaf")
class IAFPosterior(PosteriorFamily):
    """Features [μ0, log σ0², h] (2D + C) → T IAF steps on N(μ0, σ0²), one global MADE per step.

    Steps alternate the natural and the reversed variable order, which is the paper's reversal
    of the variables between steps without permuting z itself."""

    supports_stop_gradient = False

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        check_flow_length(config)
        if config.flow_context < 0:
            raise ConfigError(f"model.flow_context must be >= 0, got {config.flow_context}")
        if not config.flow_hidden or min(config.flow_hidden) < 1:
            raise ConfigError(f"model.flow_hidden must be one or more widths >= 1, got {list(config.flow_hidden)}")
        self.context_size = config.flow_context
        natural = torch.arange(self.latent_dim)
        self.steps = nn.ModuleList(
            MADE(self.latent_dim, config.flow_hidden, config.flow_context, num_outputs=2,
                 order=natural if t % 2 == 0 else natural.flip(0))
            for t in range(config.flow_length))

    @property
    def num_inputs(self) -> int:
        return 2 * self.latent_dim + self.context_size

    def forward(self, features: torch.Tensor) -> FlowPosterior:
        d = self.latent_dim
        context = features[..., 2 * d:] if self.context_size else None                   # (B, C)
        return FlowPosterior(diagonal_gaussian(features[..., :2 * d]),
                             [IAFTransform(made, context) for made in self.steps])
