"""Importance-sampled estimates of log p(x) (Burda et al. 2016; Rezende et al. 2014, App. E).

With q(z|x) as proposal (``log_likelihood_estimate``):

    log p(x) ≈ L_k(x) = log (1/k) Σ_{i=1..k} p(x|z_i) p(z_i) / q(z_i|x),  z_i ~ q(z|x),

a stochastic lower bound that tightens monotonically in k (in expectation). With the prior as
proposal (``prior_log_likelihood_estimate``), naive Monte Carlo:

    log p(x) ≈ log (1/k) Σ_{i=1..k} p(x|z_i),  z_i ~ p(z),

also unbiased in p(x) but with a variance that grows with how little of p(z) explains x: most
z_i miss the posterior's region, so at equal k its error is far larger. The k samples are drawn
in chunks and merged with a running log-sum-exp, so memory is bounded by ``chunk × batch``
decodes whatever k is (k = 5000 on MNIST runs in constant memory). Images are decoded in blocks
of at most ``ROWS_PER_DECODE`` (sample, example) rows, so the decoder's activations and logits
stay in the CPU's cache and the elementwise work costs a fraction of the matrix products
(``bench/evaluate_speed.py``); sentences (a recurrent decoder, one step per token) in whole chunks.
The blocking changes which draws go together, never their distribution: for a diagonal Gaussian
q(z|x) the draws are the same numbers whatever the blocking (torch's generator fills in order).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from vaekit.objectives import importance_log_weights

ROWS_PER_DECODE = 2048       # (sample, example) rows decoded at once: activations fit the cache


def _posterior_proposal(model, x: torch.Tensor) -> Callable[[int], torch.Tensor]:
    """c ↦ log p(x, z_i) − log q(z_i|x) for c draws z_i ~ q(z|x), shape (c, B)."""
    posterior = model.encode(x)
    return lambda num_samples: importance_log_weights(model, x, num_samples, posterior)


def _prior_proposal(model, x: torch.Tensor) -> Callable[[int], torch.Tensor]:
    """c ↦ log p(x|z_i) for c draws z_i ~ p(z), shape (c, B)."""
    prior = model.prior()
    return lambda num_samples: model.decode(prior.sample((num_samples, len(x)))).log_prob(x)


@torch.no_grad()
def _estimate(proposal, model, images: torch.Tensor, num_samples: int, chunk: int, batch_size: int,
              progress: bool, name: str, rows_per_decode: int | None = ROWS_PER_DECODE) -> torch.Tensor:
    """log (1/k) Σ_i w_i per row of ``images``, shape (N,), with log w_i from ``proposal(model, x)``."""
    if num_samples < 1 or chunk < 1 or batch_size < 1:
        raise ValueError(f"num_samples, chunk and batch_size must be ≥ 1, got {num_samples}, {chunk}, {batch_size}")
    from tqdm.auto import tqdm

    model.eval()
    estimates = []
    starts = range(0, len(images), batch_size)
    for start in tqdm(starts, desc=f"{name}, k={num_samples}", disable=not progress, leave=False):
        x = images[start:start + batch_size]
        log_weights_of = proposal(model, x)
        block = chunk if rows_per_decode is None else max(1, min(chunk, rows_per_decode // len(x)))
        running = None
        for done in range(0, num_samples, block):
            log_weights = log_weights_of(min(block, num_samples - done))            # (c, B)
            merged = torch.logsumexp(log_weights, 0)
            running = merged if running is None else torch.logaddexp(running, merged)
        estimates.append(running - math.log(num_samples))
    return torch.cat(estimates)


def log_likelihood_estimate(model, images: torch.Tensor, num_samples: int = 5000, chunk: int = 500,
                            batch_size: int = 100, progress: bool = False,
                            rows_per_decode: int | None = ROWS_PER_DECODE) -> torch.Tensor:
    """L_k(x) for every row of ``images``, shape (N,), in nats (proposal q(z|x))."""
    return _estimate(_posterior_proposal, model, images, num_samples, chunk, batch_size, progress, "log p(x)",
                     rows_per_decode)


def prior_log_likelihood_estimate(model, images: torch.Tensor, num_samples: int = 5000, chunk: int = 500,
                                  batch_size: int = 100, progress: bool = False) -> torch.Tensor:
    """log (1/k) Σ_i p(x|z_i), z_i ~ p(z), for every row of ``images``, shape (N,), in nats."""
    return _estimate(_prior_proposal, model, images, num_samples, chunk, batch_size, progress,
                     "log p(x) from the prior")
