"""Hamiltonian Monte Carlo on any log-density with a gradient (Neal 2011, "MCMC using
Hamiltonian dynamics", §5.2), batched over independent chains.

With momentum p ~ N(0, I) and energy H(z, p) = −log f(z) + ½‖p‖², one transition runs L
leapfrog steps of size ε,

    p ← p + ½ε ∇log f(z);  (z ← z + ε p;  p ← p + ε ∇log f(z)) × L, the last momentum step halved,

and accepts the end point (z', p') with probability min(1, exp(H(z, p) − H(z', p'))) (Metropolis).
The transition leaves f invariant for any ε and L. Each leapfrog step costs one evaluation of
log f and its gradient; the value and gradient at the current point travel with it, so the
first half step costs nothing. ``adapt_step_size`` is the rule Wu et al. 2017 use for AIS:
each chain moves ε by ×1.02 or ×0.98 toward a running acceptance rate of 0.65.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import torch


class Point(NamedTuple):
    """A state of a chain: z (..., D), log f(z) (...), ∇_z log f(z) (..., D)."""
    z: torch.Tensor
    log_density: torch.Tensor
    gradient: torch.Tensor


def evaluate(log_density: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor) -> Point:
    """log f(z) and ∇_z log f(z) by autograd (gradients on locally, also under ``no_grad``)."""
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        value = log_density(z)                                        # (...)
        (gradient,) = torch.autograd.grad(value.sum(), z)
    return Point(z.detach(), value.detach(), gradient)


def select(accepted: torch.Tensor, proposal: NamedTuple, current: NamedTuple) -> NamedTuple:
    """Field by field, the proposal where ``accepted`` (...) is true, else the current state."""
    def pick(new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
        mask = accepted.view(accepted.shape + (1,) * (new.dim() - accepted.dim()))
        return torch.where(mask, new, old)
    return type(current)(*(pick(new, old) for new, old in zip(proposal, current)))


def hmc_transition(evaluate_point: Callable[[torch.Tensor], NamedTuple], current: NamedTuple,
                   step_size: torch.Tensor | float, leapfrog_steps: int) -> tuple[NamedTuple, torch.Tensor]:
    """One HMC transition of every chain; returns (next state, accepted (...)).

    ``evaluate_point(z)`` returns a state: a NamedTuple whose fields include ``z``,
    ``log_density`` and ``gradient`` (a ``Point``, or a richer tuple whose other fields, e.g.
    the terms of an annealed density, travel with their point). ``step_size`` is a float or
    one ε per chain, shape (...). A proposal with a non-finite energy is rejected.
    """
    if leapfrog_steps < 1:
        raise ValueError(f"leapfrog_steps must be ≥ 1, got {leapfrog_steps}")
    epsilon = torch.as_tensor(step_size, dtype=current.z.dtype, device=current.z.device)
    epsilon = epsilon.unsqueeze(-1) if epsilon.dim() else epsilon                       # (..., 1)
    momentum = torch.randn_like(current.z)                                              # (..., D)
    energy = -current.log_density + 0.5 * momentum.pow(2).sum(-1)                       # (...)
    proposal = current
    momentum = momentum + 0.5 * epsilon * current.gradient
    for step in range(leapfrog_steps):
        proposal = evaluate_point(proposal.z + epsilon * momentum)
        momentum = momentum + (epsilon if step < leapfrog_steps - 1 else 0.5 * epsilon) * proposal.gradient
    proposed_energy = -proposal.log_density + 0.5 * momentum.pow(2).sum(-1)
    log_acceptance = torch.nan_to_num(energy - proposed_energy, nan=-torch.inf)        # (...)
    accepted = torch.rand_like(log_acceptance).log() < log_acceptance
    return select(accepted, proposal, current), accepted


def adapt_step_size(step_size: torch.Tensor, acceptance_rate: torch.Tensor, accepted: torch.Tensor,
                    target: float = 0.65, increase: float = 1.02, decrease: float = 0.98,
                    minimum: float = 1e-4, maximum: float = 0.5,
                    slowness: float = 0.9) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-chain step sizes after one transition (Wu et al. 2017's AIS code):

    a ← slowness·a + (1 − slowness)·1[accepted],  ε ← clip(ε·(1.02 if a > target else 0.98), min, max).

    Returns (ε, a), both shaped like ``accepted``.
    """
    acceptance_rate = slowness * acceptance_rate + (1 - slowness) * accepted.to(acceptance_rate.dtype)
    step_size = torch.where(acceptance_rate > target, step_size * increase, step_size * decrease)
    return step_size.clamp(minimum, maximum), acceptance_rate
