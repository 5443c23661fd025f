"""Annealed importance sampling of log p(x) (Neal 2001), as Wu et al. 2017 ("On the quantitative
analysis of decoder-based generative models", §3) use it for decoder-based models.

A geometric path of unnormalized densities on z from a normalized start f_0 to the joint:

    f_t(z) = f_0(z)^{1−β_t} (p(z) p(x|z))^{β_t},   0 = β_0 < β_1 < … < β_T = 1,

so Z_0 = 1 and Z_T = ∫ p(z) p(x|z) dz = p(x). ``start="prior"``: f_0 = p(z) and f_t = p(z) p(x|z)^{β_t};
``start="posterior"``: f_0 = q(z|x). Each of M independent chains draws z_0 ~ f_0, moves
z_t ~ T_t(·|z_{t−1}) with an HMC transition that leaves f_t invariant (t = 1 … T−1), and carries

    log w = Σ_{t=1..T} log f_t(z_{t−1}) − log f_{t−1}(z_{t−1}) = Σ_{t=1..T} (β_t − β_{t−1}) log r(z_{t−1}),
    r(z) = p(z) p(x|z) / f_0(z)   (= p(x|z) from the prior).

E[w] = p(x), so log p̂(x) = log (1/M) Σ_m w_m is unbiased in p(x) and, by Jensen, a stochastic
lower bound on log p(x). With T = 1 there is no transition and AIS is importance sampling
with f_0 as proposal. The schedule is Wu et al.'s sigmoid (from Grosse et al. 2015's BDMC code):
β_t = (σ(s_t) − σ(−4)) / (σ(4) − σ(−4)), s_t = −4 + 8t/T, dense at both ends of the path.
Step sizes start at ``step_size`` and adapt per chain toward acceptance 0.65 (``hmc.adapt_step_size``).

Cost per chain: 1 + (T − 1)·L decoder evaluations (forward and backward), L leapfrog steps.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch

from vaekit.evaluate.hmc import adapt_step_size, evaluate, hmc_transition

STARTS = ("prior", "posterior")


class AnnealedPoint(NamedTuple):
    """A chain's state under f_β: log f_β = log f_0 + β log r, with the two terms kept apart so
    that moving to the next β costs no decoder evaluation."""
    z: torch.Tensor                 # (M, B, D)
    log_density: torch.Tensor       # log f_β(z), (M, B)
    gradient: torch.Tensor          # ∇_z log f_β(z), (M, B, D)
    log_start: torch.Tensor         # log f_0(z), (M, B)
    start_gradient: torch.Tensor    # (M, B, D)
    log_ratio: torch.Tensor         # log r(z) = log p(z) + log p(x|z) − log f_0(z), (M, B)
    ratio_gradient: torch.Tensor    # (M, B, D)

    def at(self, beta: float) -> "AnnealedPoint":
        """The same z under f_β."""
        return self._replace(log_density=self.log_start + beta * self.log_ratio,
                             gradient=self.start_gradient + beta * self.ratio_gradient)


def sigmoid_schedule(num_steps: int) -> list[float]:
    """β_0 = 0 < … < β_T = 1, T = ``num_steps``: a rescaled sigmoid on [−4, 4] (Wu et al. 2017)."""
    if num_steps < 1:
        raise ValueError(f"num_steps must be ≥ 1, got {num_steps}")
    sigmoid = [1 / (1 + math.exp(-(-4 + 8 * t / num_steps))) for t in range(num_steps + 1)]
    betas = [(s - sigmoid[0]) / (sigmoid[-1] - sigmoid[0]) for s in sigmoid]
    return [0.0, *betas[1:-1], 1.0]


def _path(model, x: torch.Tensor, num_chains: int, start: str):
    """z_0 ~ f_0 (M, B, D), log f_0 and log r as functions of z (..., D) → (...)."""
    prior = model.prior()
    if start == "prior":
        z = prior.sample((num_chains, len(x)))                                      # (M, B, D)
        return z, prior.log_prob, lambda z: model.decode(z).log_prob(x)
    if start == "posterior":
        posterior = model.encode(x)
        z = posterior.rsample((num_chains,))                                        # (M, B, D)
        return z, posterior.log_prob, lambda z: (model.decode(z).log_prob(x) + prior.log_prob(z)
                                                 - posterior.log_prob(z))
    raise ValueError(f"start must be one of {', '.join(STARTS)}, got {start!r}")


@torch.no_grad()
def ais_log_weights(model, x: torch.Tensor, num_chains: int, num_steps: int, leapfrog_steps: int = 10,
                    step_size: float = 0.05, start: str = "prior", progress: bool = False) -> torch.Tensor:
    """log w of M = ``num_chains`` independent AIS chains per row of ``x``, shape (M, B)."""
    from tqdm.auto import tqdm

    if num_chains < 1 or leapfrog_steps < 1 or step_size <= 0:
        raise ValueError(f"num_chains and leapfrog_steps must be ≥ 1 and step_size > 0, "
                         f"got {num_chains}, {leapfrog_steps}, {step_size}")
    betas = sigmoid_schedule(num_steps)
    z, log_start, log_ratio = _path(model, x, num_chains, start)

    def point_at(z: torch.Tensor, beta: float) -> AnnealedPoint:
        first, ratio = evaluate(log_start, z), evaluate(log_ratio, z)
        return AnnealedPoint(z, first.log_density, first.gradient, first.log_density, first.gradient,
                             ratio.log_density, ratio.gradient).at(beta)

    point = point_at(z, 0.0)
    step_sizes = torch.full_like(point.log_ratio, step_size)                        # (M, B)
    acceptance_rate = torch.full_like(point.log_ratio, 0.65)
    log_weights = torch.zeros_like(point.log_ratio)                                 # (M, B)
    for t in tqdm(range(1, num_steps + 1), desc=f"AIS, {num_chains} chains", disable=not progress, leave=False):
        log_weights += (betas[t] - betas[t - 1]) * point.log_ratio
        if t < num_steps:                     # after the last weight no transition is needed
            beta = betas[t]
            point, accepted = hmc_transition(lambda z: point_at(z, beta), point.at(beta), step_sizes,
                                             leapfrog_steps)
            step_sizes, acceptance_rate = adapt_step_size(step_sizes, acceptance_rate, accepted)
    return log_weights


@torch.no_grad()
def ais_log_likelihood_estimate(model, images: torch.Tensor, num_chains: int = 16, num_steps: int = 500,
                                leapfrog_steps: int = 10, step_size: float = 0.05, start: str = "prior",
                                batch_size: int = 100, progress: bool = False) -> torch.Tensor:
    """log p̂(x) = log (1/M) Σ_m w_m for every row of ``images``, shape (N,), in nats;
    ``batch_size`` examples × M chains are annealed at once."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    model.eval()
    estimates = []
    for begin in range(0, len(images), batch_size):
        log_weights = ais_log_weights(model, images[begin:begin + batch_size], num_chains, num_steps,
                                      leapfrog_steps, step_size, start, progress)  # (M, B)
        estimates.append(torch.logsumexp(log_weights, 0) - math.log(num_chains))
    return torch.cat(estimates)
