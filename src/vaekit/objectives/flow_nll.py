"""Maximum likelihood for a normalizing flow on 8-bit images (Dinh et al. 2017, §4.1).

With uniform dequantization y = (k + u)/256, u ~ U[0, 1)^D (Theis et al. 2016), the loss is the
negative of the bound on the discrete log-likelihood, one u per image and step:

    loss = −(1/B) Σ_b [log p(y_b) − D log 256] ≥ −(1/B) Σ_b log P(k_b)   (in expectation over u),

reported per image in nats (``nll``) and in bits per dimension, nll / (D log 2). log p(y) is the
flow's exact density (``RealNVP.log_density``); no latent variable is sampled.
"""
from __future__ import annotations

import math

import torch

from vaekit.config import ObjectiveConfig
from vaekit.objectives.registry import OBJECTIVES


@OBJECTIVES.register("flow-nll")
def flow_nll(model, x: torch.Tensor, config: ObjectiveConfig = ObjectiveConfig(), step: int = 0,
             dataset_size: int | None = None):
    nll = -model.log_prob(x).mean()
    bits_per_dim = nll / (model.num_pixels * math.log(2))
    return nll, {"nll": nll.detach(), "bits_per_dim": bits_per_dim.detach()}
