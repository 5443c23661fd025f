"""Test log-likelihood of a normalizing flow: its density is exact, no estimator is involved.

For each 8-bit test image x = k/255 and one u ~ U[0, 1)^D (``RealNVP.log_prob``),

    ℓ(x) = log p((k + u)/256) − D log 256,    E_u[ℓ(x)] ≤ log P(k)   (uniform dequantization),

where log p is computed exactly by the change of variables. Reported: nll = −(1/N) Σ ℓ(x_n), its
standard error std(ℓ)/√N (over images and u), and bits/dim = nll / (D log 2): the convention
of RealNVP, Glow and FFJORD tables. Unlike a VAE's importance-sampled L_k, no posterior and no
number of samples k enter; the one gap to −log P(k) is the dequantization's Jensen gap.
"""
from __future__ import annotations

import math
import time

import torch

from vaekit.config import ConfigError, EvalConfig

NOTE = ("exact: log p(y) by the change of variables at one dequantized y = (k + u)/256 per image; "
        "not an importance-sampled bound (the only gap to log P(k) is uniform dequantization's Jensen gap)")


@torch.no_grad()
def evaluate_exact_likelihood(model, images: torch.Tensor, config: EvalConfig = EvalConfig(),
                              progress: bool = False) -> dict:
    """nll (nats per image), its standard error and bits/dim of ``images`` (N, C, H, W) in [0, 1]."""
    if config.estimator != "is":
        raise ConfigError(f"evaluate.estimator={config.estimator} estimates log p(x) of a latent-variable model; "
                          f"a {model.kind} has an exact density and takes no estimator")
    from tqdm.auto import tqdm

    model.eval()
    if config.max_examples is not None:
        images = images[:config.max_examples]
    started = time.perf_counter()
    starts = range(0, len(images), config.batch_size)
    values = torch.cat([model.log_prob(images[start:start + config.batch_size])
                        for start in tqdm(starts, desc="exact log p(x)", disable=not progress, leave=False)])
    nll = -float(values.double().mean())
    standard_error = float(values.double().std()) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
    return {"num_examples": len(values), "num_pixels": model.num_pixels, "estimator": "exact", "note": NOTE,
            "nll": nll, "nll_standard_error": standard_error,
            "bits_per_dim": nll / (model.num_pixels * math.log(2)), "seconds": time.perf_counter() - started}
