"""Exact negative log-likelihood of a language model (no latent variable):

    −log p(x) = −Σ_{t=1}^{n+1} log p(x_t | x_<t),   x_{n+1} = <eos>,

the sum of the token cross-entropies of a sentence, averaged over the batch. It is the number a
sentence VAE's −ELBO (an upper bound on its own −log p(x)) is compared with (Bowman et al. 2016, Table 2).
"""
from __future__ import annotations

import torch

from vaekit.config import ObjectiveConfig
from vaekit.objectives.registry import OBJECTIVES


@OBJECTIVES.register("language-model")
def language_model(model, x: torch.Tensor, config: ObjectiveConfig = ObjectiveConfig(), step: int = 0,
                   dataset_size: int | None = None):
    negative_log_likelihood = -model.marginal(len(x)).log_prob(x).mean()
    return negative_log_likelihood, {"nll": negative_log_likelihood}
