"""GAN losses (Goodfellow et al. 2014) with the non-saturating generator loss (their §3):

    L_D = −E_x[log D(x)] − E_z[log(1 − D(g(z)))]       (the discriminator's cross-entropy)
    L_G = −E_z[log D(g(z))]                              (non-saturating: strong gradients while D rejects g(z))

instead of the minimax generator loss E_z[log(1 − D(g(z)))], whose gradient vanishes when D
wins. With D = σ(d): log D = −softplus(−d) and log(1 − D) = −softplus(d), computed from the
logits d so that neither saturates to log 0. Both losses are evaluated on one batch x and one
draw z ~ N(0, I) at the same parameters; the trainer steps the generator's optimizer on L_G,
then the discriminator's on L_D (which sees g(z) detached), as it does for FactorVAE.
The terms also report the mean scores D(x) and D(g(z)).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from vaekit.config import ObjectiveConfig
from vaekit.objectives.registry import OBJECTIVES


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """L_D = mean softplus(−d(x)) + mean softplus(d(g(z)))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating L_G = mean softplus(−d(g(z))) = −mean log D(g(z))."""
    return F.softplus(-fake_logits).mean()


@OBJECTIVES.register("gan")
def gan(model, x: torch.Tensor, config: ObjectiveConfig = ObjectiveConfig(), step: int = 0,
        dataset_size: int | None = None):
    fake = model.generate(model.sample_latents(len(x)))                  # (B, C, H, W)
    fake_logits = model.discriminate(fake)                               # (B,), through g
    logits = model.discriminate(torch.cat([x, fake.detach()]))           # (2B,): D's step leaves g alone
    real_logits, detached_fake_logits = logits[:len(x)], logits[len(x):]
    d_loss = discriminator_loss(real_logits, detached_fake_logits)
    g_loss = generator_loss(fake_logits)
    terms = {"discriminator": d_loss.detach(), "generator": g_loss.detach(),
             "real_score": torch.sigmoid(real_logits).mean().detach(),
             "fake_score": torch.sigmoid(fake_logits).mean().detach()}
    return {"model": g_loss, "discriminator": d_loss}, terms
