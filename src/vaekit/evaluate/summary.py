"""Everything ``vaekit evaluate`` reports about a trained model on a test set."""
from __future__ import annotations

import math

import torch

from vaekit.config import ConfigError, EvalConfig
from vaekit.evaluate.active_units import active_units, posterior_mean_variance
from vaekit.evaluate.posterior_statistics import batch_kl
from vaekit.evaluate.estimators import check_estimator_config, estimate_log_likelihood
from vaekit.evaluate.exact_likelihood import evaluate_exact_likelihood
from vaekit.models import VAE, Model, RealNVP


@torch.no_grad()
def encode_dataset(model: Model, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Deterministic codes (posterior means for a VAE) of every image, shape (N, D)."""
    model.eval()
    return torch.cat([model.code(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def mean_or_none(distribution) -> torch.Tensor | None:
    """E[x|z], or None for a distribution without a tractable mean (a PixelCNN decoder)."""
    try:
        return distribution.mean
    except NotImplementedError:
        return None


@torch.no_grad()
def evaluate_model(model: Model, images: torch.Tensor, config: EvalConfig = EvalConfig(),
                   progress: bool = False, distributed=None) -> dict:
    """Test metrics in nats per image (and bits/dim): ELBO, its terms, KL per dimension,
    active units, squared error of the mean reconstruction, and the k-sample IS estimate of log p(x);
    for a flow, its exact log-likelihood and bits/dim (``evaluate.exact_likelihood``). Under torchrun
    (``distributed``) the ranks share the log p(x) estimate, batch by batch; the one-pass metrics are
    computed on every rank (same seed, same numbers)."""
    if isinstance(model, RealNVP):
        return evaluate_exact_likelihood(model, images, config, progress)
    model.eval()
    if config.importance_samples < 0:
        raise ConfigError(f"evaluate.importance_samples must be ≥ 0 (0 skips the log p(x) estimate), "
                          f"got {config.importance_samples}")
    if config.importance_samples > 0:
        check_estimator_config(config)
    if config.max_examples is not None:
        images = images[:config.max_examples]
    num_pixels = model.num_pixels
    totals = {"log_likelihood": 0.0, "kl": 0.0, "squared_error": 0.0}
    kl_dims, means = [], []
    for start in range(0, len(images), config.batch_size):
        x = images[start:start + config.batch_size]
        if isinstance(model, VAE):
            posterior = model.encode(x)
            z = posterior.rsample()
            likelihood = model.decode(z)
            kl, kl_per_dim = batch_kl(posterior, model.prior())               # (B,), (B, D) or None
            totals["kl"] += float(kl.sum())
            kl_dims.append(None if kl_per_dim is None else kl_per_dim.sum(0))
            means.append(posterior.mean)
            reconstruction = mean_or_none(model.decode(posterior.mean))
        else:
            likelihood = model.reconstruct(x)
            reconstruction = mean_or_none(likelihood)
        totals["log_likelihood"] += float(likelihood.log_prob(x).sum())
        if reconstruction is None:                      # autoregressive decoders have no closed-form mean
            totals["squared_error"] = float("nan")
        else:
            totals["squared_error"] += float((reconstruction - x).pow(2).flatten(1).sum(1).sum())
    n = len(images)
    results = {"num_examples": n, "num_pixels": num_pixels,
               "reconstruction_nll": -totals["log_likelihood"] / n,
               "squared_error": totals["squared_error"] / n}
    if isinstance(model, VAE):
        elbo = (totals["log_likelihood"] - totals["kl"]) / n
        variances = posterior_mean_variance(torch.cat(means))
        results.update({
            "elbo": elbo, "kl": totals["kl"] / n, "bits_per_dim_elbo": -elbo / (num_pixels * math.log(2)),
            "kl_per_dimension": [] if any(d is None for d in kl_dims) else (torch.stack(kl_dims).sum(0) / n).tolist(),
            "posterior_mean_variance": variances.tolist(),
            "active_units": active_units(torch.cat(means)),
        })
        if config.importance_samples > 0:
            estimate = estimate_log_likelihood(model, images, config, progress=progress, distributed=distributed)
            results.update({
                "estimator": estimate["estimator"],
                "importance_samples": estimate["importance_samples"],
                "nll": estimate["nll"],
                "nll_standard_error": estimate["nll_standard_error"],
                "bits_per_dim": estimate["nll"] / (num_pixels * math.log(2)),
                "estimator_decoder_evaluations": estimate["decoder_evaluations"],
                "estimator_seconds": estimate["seconds"],
            })
    return results
