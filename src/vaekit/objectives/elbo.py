"""The evidence lower bound with K reparameterized samples (Kingma & Welling 2014, eq. 10),
and its extensions by a KL weight, free bits and regularizers.

log p(x) ≥ ELBO(x) = E_{q(z|x)}[log p(x|z)] − KL(q(z|x) || p(z)),

estimated with z_k = μ(x) + σ(x) ⊙ ε_k, ε_k ~ N(0, I), k = 1..K. Training minimises

    −E_q[log p(x|z)] + β(t)·KL  + Σ_r λ_r(t)·R_r          (β-VAE: Higgins et al. 2017)

where β(t) = beta · kl_schedule(t), the KL may be replaced by its free-bits form
Σ_j max(λ, E_batch KL_j) (Kingma et al. 2016), and R_r are the regularizers of
``objectives.regularizers`` on q(z|x) or the aggregate q(z). The reported ``elbo`` is always
the plain bound (β = 1, no free bits, no regularizers), so runs stay comparable.
"""
from __future__ import annotations

import dataclasses

import torch

from vaekit.config import ConfigError, ObjectiveConfig
from vaekit.distributions import kl_per_dimension, kl_term
from vaekit.objectives.iwae import GRADIENTS, check_gradient
from vaekit.objectives.registry import OBJECTIVES
from vaekit.objectives.regularizers import REGULARIZERS, LatentBatch
from vaekit.schedules import check_schedule, free_bits_kl, schedule_factor


def elbo_terms(model, x: torch.Tensor, num_samples: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example Monte-Carlo E_q[log p(x|z)] and KL(q||p), each of shape (B,)."""
    posterior = model.encode(x)
    z = posterior.rsample((num_samples,))                    # (K, B, D)
    log_likelihood = model.decode(z).log_prob(x).mean(0)     # (B,)
    kl = kl_term(posterior, model.prior(), z)                # (B,)
    return log_likelihood, kl


def check_objective(config: ObjectiveConfig) -> ObjectiveConfig:
    """Reject schedules, regularizers and free-bits settings that cannot run, naming the config key."""
    check_schedule(config.kl_schedule, "objective.kl_schedule")
    if config.num_samples < 1:
        raise ConfigError(f"objective.num_samples (k) must be >= 1, got {config.num_samples}")
    if config.gradient not in GRADIENTS:
        raise ConfigError(f"objective.gradient must be one of {', '.join(GRADIENTS)}, got {config.gradient!r}")
    if config.gradient != "standard" and config.name != "iwae":
        raise ConfigError(f"objective.gradient={config.gradient} is an estimator of the IWAE bound's encoder "
                          f"gradient, not of objective.name={config.name}: use objective.name=iwae "
                          "(with objective.num_samples=1 it is the ELBO, so stl is Roeder et al.'s ELBO gradient)")
    if config.free_bits < 0 or config.free_bits_groups < 0:
        raise ConfigError(f"objective.free_bits and free_bits_groups must be >= 0, "
                          f"got {config.free_bits} and {config.free_bits_groups}")
    for i, entry in enumerate(config.regularizers):
        where = f"objective.regularizers[{i}]"
        if entry.name not in REGULARIZERS.names():
            raise ConfigError(f"{where}.name: unknown regularizer {entry.name!r}; known: "
                              f"{', '.join(sorted(REGULARIZERS.names()))}")
        check_schedule(entry.schedule, f"{where}.schedule")
        check_schedule(entry.capacity_schedule, f"{where}.capacity_schedule")
        if entry.estimator not in ("mss", "mws", "discriminator"):
            raise ConfigError(f"{where}.estimator must be mss, mws or discriminator, got {entry.estimator!r}")
        if entry.kernel not in ("rbf", "imq"):
            raise ConfigError(f"{where}.kernel must be rbf or imq, got {entry.kernel!r}")
    return config


def check_objective_for_model(config: ObjectiveConfig, model) -> None:
    """Refuse, naming the key, an objective this model cannot train with (before any run folder exists)."""
    if config.name not in model.objectives:
        raise ConfigError(f"a {model.kind} trains with objective.name in {model.objectives}, got {config.name!r}")
    check_gradient(config, model)
    if not hasattr(model, "encode"):              # a flow: no q(z|x) or p(z) for these keys to act on
        defaults = ObjectiveConfig()
        for key in ("beta", "num_samples", "free_bits", "regularizers"):
            value = getattr(config, key)
            if value != getattr(defaults, key):
                raise ConfigError(f"objective.{key} acts on q(z|x) and p(z); a {model.kind} has neither, "
                                  f"got {value!r}: remove it")
        return
    factorised = (getattr(model.config, "posterior", "gaussian") == "gaussian"
                  and getattr(model.config, "prior", "standard") == "standard" and model.kind != "hierarchical-vae")
    if not factorised and (config.free_bits > 0 or config.regularizers):
        key = "objective.free_bits" if config.free_bits > 0 else "objective.regularizers"
        raise ConfigError(f"{key} needs a factorised Gaussian q(z|x) and N(0, I) prior (per-dimension KL and "
                          f"posterior moments); this {model.kind} has posterior={model.config.posterior}, "
                          f"prior={model.config.prior}")


def kl_weight(config: ObjectiveConfig, step: int) -> float:
    """β(t) = beta · kl_schedule(t)."""
    return config.beta * schedule_factor(config.kl_schedule, step)


def regularized_loss(model, x: torch.Tensor, config: ObjectiveConfig, step: int = 0,
                     dataset_size: int | None = None):
    """The training loss of the module docstring, the named terms, and the batch's z ~ q(z|x)."""
    posterior = model.encode(x)
    prior = model.prior()
    z = (posterior.mean.unsqueeze(0) if config.deterministic                # autoencoder: z = μ(x)
         else posterior.rsample((config.num_samples,)))                   # (K, B, D)
    log_likelihood = model.decode(z).log_prob(x).mean(0)                  # (B,)
    kl = kl_term(posterior, prior, z)                                      # (B,)
    kl_loss = (free_bits_kl(kl_per_dimension(posterior, prior), config.free_bits, config.free_bits_groups)
               if config.free_bits > 0 else kl.mean())
    loss = -log_likelihood.mean() + kl_weight(config, step) * kl_loss
    terms = {"elbo": (log_likelihood - kl).mean().detach(), "reconstruction": -log_likelihood.mean().detach(),
             "kl": kl.mean().detach()}
    if config.regularizers:
        batch = LatentBatch(posterior, z[0], kl, dataset_size or len(x), model)
        for entry in config.regularizers:                 # C(t) = capacity · capacity_schedule(t)
            entry = dataclasses.replace(entry, capacity=entry.capacity * schedule_factor(entry.capacity_schedule, step))
            value = REGULARIZERS[entry.name](batch, entry)
            loss = loss + entry.weight * schedule_factor(entry.schedule, step) * value
            terms[entry.name.replace("-", "_")] = value.detach()
    return loss, terms, z[0]


@OBJECTIVES.register("elbo")
def elbo(model, x: torch.Tensor, config: ObjectiveConfig = ObjectiveConfig(), step: int = 0,
         dataset_size: int | None = None):
    loss, terms, _ = regularized_loss(model, x, config, step, dataset_size)
    return loss, terms
