"""log p(x) = log ∫ p(x|z) p(z) dz is intractable: three estimators of it, side by side.

``evaluate.estimator`` picks one; k = ``evaluate.importance_samples`` weights per example each:

- ``is``: importance sampling with q(z|x), L_k(x) = log (1/k) Σ_i p(x, z_i)/q(z_i|x), z_i ~ q(z|x)
  (``likelihood.log_likelihood_estimate``); k decoder evaluations per example.
- ``prior``: naive Monte Carlo, log (1/k) Σ_i p(x|z_i), z_i ~ p(z) (``likelihood.prior_log_likelihood_estimate``);
  k decoder evaluations, a much larger error at equal k: most z_i miss where p(z|x) lives.
- ``ais``: annealed importance sampling with HMC (Neal 2001; Wu et al. 2017), k chains
  (``ais.ais_log_likelihood_estimate``); k·(1 + (T − 1)·L) decoder evaluations (forward and backward).

All three average weights with E[w] = p(x), so each log p̂(x) is a stochastic lower bound on log p(x).
The cost is counted, not computed: every z passed to ``model.decode`` is one decoder evaluation.
"""
from __future__ import annotations

import math
import time

import torch

from vaekit.config import ConfigError, EvalConfig
from vaekit.evaluate.ais import STARTS, ais_log_likelihood_estimate
from vaekit.evaluate.likelihood import log_likelihood_estimate, prior_log_likelihood_estimate

ESTIMATORS = ("is", "ais", "prior")


class DecoderCounter:
    """The model, with every z decoded counted: ``evaluations`` += the batch size of z (..., D)."""

    def __init__(self, model):
        self.model = model
        self.evaluations = 0

    def decode(self, z: torch.Tensor):
        self.evaluations += z.shape[:-1].numel()
        return self.model.decode(z)

    def __getattr__(self, name: str):
        return getattr(self.model, name)


def check_estimator_config(config: EvalConfig) -> None:
    """Raise a ConfigError naming the ``evaluate.`` key of the first value the estimators cannot use."""
    if config.estimator not in ESTIMATORS:
        raise ConfigError(f"evaluate.estimator must be one of {', '.join(ESTIMATORS)}, got {config.estimator!r}")
    for name in ("importance_samples", "sample_chunk", "batch_size", "ais_steps", "ais_leapfrog_steps"):
        if getattr(config, name) < 1:
            raise ConfigError(f"evaluate.{name} must be ≥ 1, got {getattr(config, name)}")
    if not config.ais_step_size > 0:
        raise ConfigError(f"evaluate.ais_step_size must be > 0, got {config.ais_step_size}")
    if config.ais_start not in STARTS:
        raise ConfigError(f"evaluate.ais_start must be one of {', '.join(STARTS)}, got {config.ais_start!r}")
    if not config.gan_noise_std > 0:
        raise ConfigError(f"evaluate.gan_noise_std (σ of a GAN's added N(g(z), σ² I)) must be > 0, "
                          f"got {config.gan_noise_std}")


def estimate_log_likelihood(model, images: torch.Tensor, config: EvalConfig = EvalConfig(),
                            progress: bool = False) -> dict:
    """log p̂(x) of every row of ``images`` with ``config.estimator``, and its summary.

    Returns ``log_px`` (N,) in nats, ``estimator``, ``importance_samples`` (k: samples, or AIS
    chains), ``nll`` = −mean log p̂(x), ``nll_standard_error`` = std(log p̂(x))/√N over examples,
    ``decoder_evaluations`` (total over the N examples) and ``seconds``.
    Needs ``model.encode`` (is, ais from the posterior), ``model.decode`` and ``model.prior()``.
    """
    check_estimator_config(config)
    family = getattr(model, "posterior_family", None)
    if config.estimator == "ais" and config.ais_start == "posterior" and family is not None \
            and not family.density_anywhere:
        raise ConfigError(f"evaluate.ais_start=posterior needs log q(z|x) at any z; model.posterior="
                          f"{model.config.posterior} has it only at its own samples: use evaluate.ais_start=prior")
    counted = DecoderCounter(model)
    k = config.importance_samples
    began = time.perf_counter()
    if config.estimator == "is":
        log_px = log_likelihood_estimate(counted, images, k, config.sample_chunk, config.batch_size, progress)
    elif config.estimator == "prior":
        log_px = prior_log_likelihood_estimate(counted, images, k, config.sample_chunk, config.batch_size, progress)
    else:                       # as many chains × examples at once as IS decodes: chunk × batch
        examples = max(1, min(config.batch_size, config.sample_chunk * config.batch_size // k))
        log_px = ais_log_likelihood_estimate(counted, images, k, config.ais_steps, config.ais_leapfrog_steps,
                                             config.ais_step_size, config.ais_start, examples, progress)
    seconds = time.perf_counter() - began
    n = len(log_px)
    return {"log_px": log_px, "estimator": config.estimator, "importance_samples": k,
            "nll": float(-log_px.mean()),
            "nll_standard_error": float(log_px.std() / math.sqrt(n)) if n > 1 else 0.0,
            "decoder_evaluations": counted.evaluations, "seconds": seconds}
