"""RealNVP (Dinh et al. 2017): a normalizing flow on 8-bit images with an exact density.

Data are 8-bit images x = k/255, k ∈ {0, …, 255}^D. Uniform dequantization (Theis et al. 2016)
turns them into continuous points, and the logit transform of Dinh et al. (§4.1) maps those to R^D:

    y = (k + u) / 256,  u ~ U[0, 1)^D,          v = logit(α + (1 − 2α) y),  α = 0.05,
    log |det ∂v/∂y| = Σ_i log(1 − 2α) − log p_i − log(1 − p_i),   p = α + (1 − 2α) y.

A stack of affine couplings f (``vaekit.nn.coupling``) maps v to z with a standard-normal base, so
the density of y is exact by the change of variables (eq. 3):

    log p(y) = log N(f(v); 0, I) + log |det ∂f/∂v| + log |det ∂v/∂y|.

p(y) is a density on the box (−α/(1−2α), (1−α)/(1−2α))^D ⊃ [0, 1)^D. For the discrete data,
P(k) = ∫_{[0,1)^D} p((k + u)/256) 256^{−D} du, and by Jensen

    log P(k) ≥ E_u[log p((k + u)/256)] − D log 256,      bits/dim = −log₂ P(k) / D,

the number RealNVP, Glow and FFJORD report; ``log_prob`` returns it with one u per image.

Architecture (§3.6), with ``flow_scales`` = L levels and ``flow_length`` = n couplings per group:
L times [n checkerboard couplings, squeeze (C, H, W) → (4C, H/2, W/2), n channel couplings, factor
out half of the channels as latents], then n checkerboard couplings on what is left. ``mlp``
networks with L = 0 give a plain coupling stack. Unlike the paper, the s/t networks are plain
conv nets (3×3, 1×1, …, 3×3) without batch normalisation, and the last group has n couplings, not 4.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from vaekit.config import ConfigError
from vaekit.models.base import MODELS, Model, check_8bit
from vaekit.nn.coupling import AffineCoupling, conv_network, mlp_network, squeeze, unsqueeze

ALPHA = 0.05          # the logit transform's margin (Dinh et al. 2017, §4.1)
LEVELS = 256          # 8-bit pixels
ARCHITECTURES = ("conv", "mlp")


def logit_transform(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """v = logit(α + (1 − 2α) y) and log |det ∂v/∂y| of shape (B,)."""
    p = ALPHA + (1 - 2 * ALPHA) * y
    v = torch.log(p) - torch.log1p(-p)
    log_det = math.log(1 - 2 * ALPHA) - torch.log(p) - torch.log1p(-p)
    return v, log_det.flatten(1).sum(1)


def inverse_logit_transform(v: torch.Tensor) -> torch.Tensor:
    return (torch.sigmoid(v) - ALPHA) / (1 - 2 * ALPHA)


class Level(nn.Module):
    """One level of the multi-scale flow: checkerboard couplings, squeeze, channel couplings."""

    def __init__(self, shape: tuple[int, int, int], length: int, network):
        super().__init__()
        channels, height, width = shape
        squeezed = (4 * channels, height // 2, width // 2)
        self.checkerboard = nn.ModuleList(AffineCoupling(shape, "checkerboard", i % 2, network(shape))
                                          for i in range(length))
        self.channel = nn.ModuleList(AffineCoupling(squeezed, "channel", i % 2, network(squeezed))
                                     for i in range(length))

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_det = h.new_zeros(len(h))
        for coupling in self.checkerboard:
            h, term = coupling(h)
            log_det = log_det + term
        h = squeeze(h)
        for coupling in self.channel:
            h, term = coupling(h)
            log_det = log_det + term
        return h, log_det

    def inverse(self, h: torch.Tensor) -> torch.Tensor:
        for coupling in reversed(self.channel):
            h = coupling.inverse(h)
        h = unsqueeze(h)
        for coupling in reversed(self.checkerboard):
            h = coupling.inverse(h)
        return h


def check_flow_config(config, image_shape: tuple[int, int, int]) -> None:
    """Refuse, naming the key, a RealNVP that cannot be built on images of ``image_shape``."""
    if config.architecture not in ARCHITECTURES:
        raise ConfigError(f"model.architecture of a realnvp must be one of {', '.join(ARCHITECTURES)}, "
                          f"got {config.architecture!r}")
    if config.flow_length < 1 or not config.hidden or min(config.hidden) < 1:
        raise ConfigError(f"a realnvp needs model.flow_length >= 1 and model.hidden of positive widths, "
                          f"got {config.flow_length} and {list(config.hidden)}")
    _, height, width = image_shape
    factor = 2 ** config.flow_scales
    if config.flow_scales < 0 or height % factor or width % factor:
        raise ConfigError(f"model.flow_scales={config.flow_scales} squeezes {height}×{width} images into 2×2 "
                          f"blocks {config.flow_scales} times: height and width must be divisible by {factor}")


@MODELS.register("realnvp")
class RealNVP(Model):
    kind = "realnvp"
    objectives = ("flow-nll",)

    def __init__(self, config=None, **fields):
        super().__init__(config, **fields)
        c = self.config
        check_flow_config(c, self.image_shape)
        if c.architecture == "conv":
            def network(shape):
                return conv_network(shape[0], c.hidden, c.activation)
        else:
            def network(shape):
                return mlp_network(shape, c.hidden, c.activation)
        shape, self.latent_shapes = self.image_shape, []
        self.levels = nn.ModuleList()
        for _ in range(c.flow_scales):
            self.levels.append(Level(shape, c.flow_length, network))
            channels, height, width = shape
            shape = (2 * channels, height // 2, width // 2)             # half of the 4C channels factored out
            self.latent_shapes.append(shape)
        self.final = nn.ModuleList(AffineCoupling(shape, "checkerboard", i % 2, network(shape))
                                   for i in range(c.flow_length))
        self.latent_shapes.append(shape)

    def _likelihood(self) -> None:
        return None                                       # no p(x|z): the density is the flow's

    def _check_pixel_values(self, x: torch.Tensor, source: str) -> None:
        check_8bit(x, source, "a realnvp")

    def code(self, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("a realnvp has no encoder and no p(x|z): it cannot reconstruct or interpolate; "
                         "use vaekit sample and vaekit evaluate")

    # the flow -------------------------------------------------------------------
    def flow(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z = f(v) of shape (B, D) and log |det ∂f/∂v| of shape (B,), for v of shape (B, C, H, W)."""
        log_det, latents, h = v.new_zeros(len(v)), [], v
        for level in self.levels:
            h, term = level(h)
            log_det = log_det + term
            factored, h = h.chunk(2, dim=1)                                 # (B, 2C, H/2, W/2) each
            latents.append(factored.flatten(1))
        for coupling in self.final:
            h, term = coupling(h)
            log_det = log_det + term
        return torch.cat([*latents, h.flatten(1)], 1), log_det

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        """v = f⁻¹(z), shape (B, C, H, W), for z of shape (B, D)."""
        parts = z.split([math.prod(shape) for shape in self.latent_shapes], dim=1)
        h = parts[-1].view(-1, *self.latent_shapes[-1])
        for coupling in reversed(self.final):
            h = coupling.inverse(h)
        for level, part, shape in zip(reversed(self.levels), reversed(parts[:-1]), reversed(self.latent_shapes[:-1])):
            h = level.inverse(torch.cat([part.view(-1, *shape), h], 1))
        return h

    # densities ------------------------------------------------------------------
    def log_density(self, y: torch.Tensor) -> torch.Tensor:
        """Exact log p(y) of continuous images y (B, C, H, W), shape (B,), in nats."""
        v, log_det_logit = logit_transform(y)
        z, log_det_flow = self.flow(v)
        log_base = -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
        return log_base + log_det_flow + log_det_logit

    def dequantize(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """y = (k + u) / 256 for x = k/255, u ~ U[0, 1)^D."""
        k = torch.round(x * (LEVELS - 1))
        return (k + torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)) / LEVELS

    def log_prob(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """log p(y) − D log 256 for one dequantized y per 8-bit image x: a lower bound on log P(k) whose
        expectation over u is the bound of the module docstring; shape (B,), in nats."""
        return self.log_density(self.dequantize(x, generator)) - self.num_pixels * math.log(LEVELS)

    @torch.no_grad()
    def sample(self, num_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """8-bit images k/255 of shape (num_samples, C, H, W): z ~ N(0, I), y = logit⁻¹(f⁻¹(z)),
        k = ⌊256 y⌋ clipped to {0, …, 255} (p(y) has a little mass outside [0, 1))."""
        anchor = next(self.parameters())
        z = torch.randn(num_samples, self.num_pixels, generator=generator, dtype=anchor.dtype, device=anchor.device)
        y = inverse_logit_transform(self.inverse(z))
        return torch.floor(y * LEVELS).clamp(0, LEVELS - 1) / (LEVELS - 1)
