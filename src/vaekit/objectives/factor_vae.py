"""FactorVAE (Kim & Mnih 2018): the ELBO plus γ·TC, with the total correlation estimated by
a discriminator D(z) that tells samples of q(z) from samples of Π_d q(z_d):

    L_VAE = −ELBO + γ · E_q(z)[log D(z) − log(1 − D(z))]        (eq. 2–3)
    L_D   = −E_q(z)[log D(z)] − E_{Π_d q(z_d)}[log(1 − D(z̃))]  (z̃ = dimension-wise permuted z)

γ and the schedule come from the ``total-correlation`` entry (estimator: discriminator) of
``objective.regularizers``. The objective returns both losses; the trainer owns both
optimizers and steps them on disjoint parameters. As in disentanglement_lib, the permuted
samples come from the same batch (the paper draws a second batch).
"""
from __future__ import annotations

import torch

from vaekit.config import ConfigError, ObjectiveConfig
from vaekit.objectives.elbo import regularized_loss
from vaekit.objectives.registry import OBJECTIVES
from vaekit.objectives.regularizers import discriminator_loss


@OBJECTIVES.register("factor-vae")
def factor_vae(model, x: torch.Tensor, config: ObjectiveConfig = ObjectiveConfig(), step: int = 0,
               dataset_size: int | None = None):
    if not any(r.name == "total-correlation" and r.estimator == "discriminator" for r in config.regularizers):
        raise ConfigError("objective factor-vae needs a regularizers entry "
                          "{name: total-correlation, estimator: discriminator, weight: γ}")
    vae_loss, terms, z = regularized_loss(model, x, config, step, dataset_size)
    d_loss = discriminator_loss(model, z)
    terms["discriminator"] = d_loss.detach()
    return {"model": vae_loss, "discriminator": d_loss}, terms
