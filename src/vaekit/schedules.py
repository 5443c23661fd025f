"""Weights as pure functions of the optimizer step t, and free bits.

A schedule returns a factor f(t) ∈ [start, 1] that multiplies a configured value (the KL
weight β, a regularizer's λ, a capacity C). With s = ``start`` and T = ``steps``:

- constant:  f(t) = 1
- linear:    f(t) = s + (1 − s)·min(t / T, 1)                              (KL warm-up)
- sigmoid:   f(t) = s + (1 − s)·σ(10·(t/T − ½)), σ the logistic function  (Bowman et al. 2016:
             a logistic rise centred at T/2; 10/T sets its slope, f(0) ≈ s, f(T) ≈ 1)
- cyclical:  M cycles of length T/M; τ = (t mod T/M) / (T/M); f = s + (1 − s)·min(τ/R, 1)
             for t < T, then 1                                              (Fu et al. 2019, eq. 8)
"""
from __future__ import annotations

import math

import torch

from vaekit.config import ConfigError, ScheduleConfig

SCHEDULES = ("constant", "linear", "sigmoid", "cyclical")


def check_schedule(config: ScheduleConfig, where: str = "schedule") -> ScheduleConfig:
    """Reject a schedule that cannot be evaluated, naming the offending field."""
    if config.kind not in SCHEDULES:
        raise ConfigError(f"{where}.kind must be one of {', '.join(SCHEDULES)}, got {config.kind!r}")
    if config.kind != "constant" and config.steps <= 0:
        raise ConfigError(f"{where}.steps must be > 0 for a {config.kind} schedule, got {config.steps}")
    if not 0.0 <= config.start <= 1.0:
        raise ConfigError(f"{where}.start must lie in [0, 1], got {config.start}")
    if config.kind == "cyclical":
        if config.cycles < 1:
            raise ConfigError(f"{where}.cycles must be >= 1, got {config.cycles}")
        if not 0.0 < config.ratio <= 1.0:
            raise ConfigError(f"{where}.ratio must lie in (0, 1], got {config.ratio}")
    return config


def schedule_factor(config: ScheduleConfig, step: int) -> float:
    """f(step) of the module docstring."""
    if config.kind == "constant":
        return 1.0
    check_schedule(config)
    progress = step / config.steps
    if config.kind == "linear":
        rise = min(progress, 1.0)
    elif config.kind == "sigmoid":
        rise = 1.0 / (1.0 + math.exp(-10.0 * (progress - 0.5)))
    else:  # cyclical
        if step >= config.steps:
            return 1.0
        period = config.steps / config.cycles
        tau = (step % period) / period
        rise = min(tau / config.ratio, 1.0)
    return config.start + (1.0 - config.start) * rise


def free_bits_kl(kl_per_dimension: torch.Tensor, threshold: float, groups: int = 0) -> torch.Tensor:
    """Σ_j max(λ, E_batch[KL_j]) over groups j of latent dimensions (Kingma et al. 2016, eq. 15).

    ``kl_per_dimension`` has shape (B, D). ``groups=0`` makes each dimension its own group
    (as Li et al. 2019); G > 0 splits the D dimensions into G consecutive equal groups
    (G = 1 thresholds the total KL). Below λ a group's KL gets no gradient: the encoder is
    free to use those nats. Returns a scalar: the KL term of the loss for the batch.
    """
    if threshold <= 0:
        return kl_per_dimension.sum(-1).mean()
    dims = kl_per_dimension.shape[-1]
    groups = groups or dims
    if dims % groups:
        raise ConfigError(f"objective.free_bits_groups={groups} must divide the latent size {dims}")
    per_group = kl_per_dimension.mean(0).view(groups, dims // groups).sum(-1)
    return per_group.clamp(min=threshold).sum()
