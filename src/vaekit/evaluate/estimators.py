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
                            progress: bool = False, distributed=None) -> dict:
    """log p̂(x) of every row of ``images`` with ``config.estimator``, and its summary.

    Returns ``log_px`` (N,) in nats, ``estimator``, ``importance_samples`` (k: samples, or AIS
    chains), ``nll`` = −mean log p̂(x), ``nll_standard_error`` = std(log p̂(x))/√N over examples,
    ``decoder_evaluations`` (total over the N examples) and ``seconds``. Each batch of
    ``config.batch_size`` examples has its own seed; under torchrun (``distributed``, a
    ``vaekit.train.distributed.Distributed``) each rank estimates every W-th batch, with the same
    numbers as one process.
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
    examples = max(1, min(config.batch_size, config.sample_chunk * config.batch_size // k))  # AIS: chains × examples
    estimate = {                                                                            # as IS decodes at once
        "is": lambda x: log_likelihood_estimate(counted, x, k, config.sample_chunk, len(x)),
        "prior": lambda x: prior_log_likelihood_estimate(counted, x, k, config.sample_chunk, len(x)),
        "ais": lambda x: ais_log_likelihood_estimate(counted, x, k, config.ais_steps, config.ais_leapfrog_steps,
                                                     config.ais_step_size, config.ais_start, examples, progress),
    }[config.estimator]
    began = time.perf_counter()
    log_px = estimate_by_batches(estimate, images, config.batch_size, distributed,
                         f"log p(x), {config.estimator}, k={k}" if progress else None)
    seconds = time.perf_counter() - began
    evaluations = counted.evaluations
    if distributed is not None:
        evaluations = int(distributed.sum_tensor_over_ranks(torch.tensor(float(evaluations), dtype=torch.float64)))
    n = len(log_px)
    return {"log_px": log_px, "estimator": config.estimator, "importance_samples": k,
            "nll": float(-log_px.mean()),
            "nll_standard_error": float(log_px.std() / math.sqrt(n)) if n > 1 else 0.0,
            "decoder_evaluations": evaluations, "seconds": seconds}


def estimate_by_batches(estimate, rows: torch.Tensor, batch_size: int, distributed, progress: str | None,
                        dtype: torch.dtype | None = None) -> torch.Tensor:
    """``estimate`` (a batch of rows ↦ log p̂(x) per row) over every row of ``rows`` (images or
    sentences), batch i drawn with the seed s + i (s from the global generator), so that the numbers
    do not depend on how many processes share the work: rank r of W estimates batches r, r + W, …
    and the ranks' rows are summed (each row is filled by one rank, zero on the others). The result
    has ``dtype`` (default: that of floating-point rows, else torch's default)."""
    from tqdm.auto import tqdm

    seed = int(torch.randint(0, 2 ** 62, ()))
    rank, world = (0, 1) if distributed is None else (distributed.rank, distributed.world_size)
    dtype = dtype or (rows.dtype if rows.is_floating_point() else torch.get_default_dtype())
    log_px = torch.zeros(len(rows), dtype=dtype)
    batches = range(rank, math.ceil(len(rows) / batch_size), world)
    for index in tqdm(batches, desc=progress, disable=progress is None, leave=False):
        batch = slice(index * batch_size, (index + 1) * batch_size)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + index)
            log_px[batch] = estimate(rows[batch])
    return log_px if distributed is None else distributed.sum_tensor_over_ranks(log_px)
