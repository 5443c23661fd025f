"""Autoencoder objective: −log p(x | g(f(x̃))), x̃ = x or a corrupted copy (denoising AE).

With a Gaussian likelihood of fixed std s this is ‖x − x̂‖²/(2s²) + const (squared error);
with a Bernoulli likelihood it is the binary cross-entropy.
"""
from __future__ import annotations

import torch

from vaekit.config import ObjectiveConfig
from vaekit.data.noise import corrupt
from vaekit.objectives.registry import OBJECTIVES


@OBJECTIVES.register("reconstruction")
def reconstruction(model, x: torch.Tensor, config: ObjectiveConfig = ObjectiveConfig(), step: int = 0,
                   dataset_size: int | None = None):
    source = x if config.corruption == "none" else corrupt(x, config.corruption, config.corruption_level)
    likelihood = model.decode(model.code(source))
    negative_log_likelihood = -likelihood.log_prob(x).mean()
    squared_error = (likelihood.mean - x).pow(2).flatten(1).sum(1).mean()
    return negative_log_likelihood, {"reconstruction": negative_log_likelihood, "squared_error": squared_error}
