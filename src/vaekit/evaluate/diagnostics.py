"""Posterior-collapse diagnostics of a VAE on a data set (logged every epoch by the Trainer).

- KL per latent dimension, E_x KL(q(z_d|x) || p(z_d)): a collapsed dimension has KL ≈ 0.
- Active units (Burda et al. 2016): d is active when Cov_x(E_q[z_d]) ≥ 0.01.
- Mutual information under q (Hoffman & Johnson 2016; He et al. 2019, eq. 4):
      I_q(x; z) = E_x E_{q(z|x)}[log q(z|x)] − E_{q(z)}[log q(z)],
  with log q(z) ≈ logsumexp_n log q(z|x_n) − log N over the N evaluated examples (the
  aggregate posterior by Monte Carlo; He et al.'s ``calc_mi`` does this per minibatch).
  The estimate is biased low by at most log N for any finite N, and I_q ≤ log N as well.
"""
from __future__ import annotations

import math

import torch

from vaekit.distributions import kl_per_dimension
from vaekit.evaluate.active_units import active_units
from vaekit.objectives.regularizers import pairwise_log_density


@torch.no_grad()
def mutual_information(means: torch.Tensor, stds: torch.Tensor, chunk: int = 500,
                       generator: torch.Generator | None = None, samples: int = 4) -> float:
    """I_q(x; z) in nats from the posteriors N(means[n], diag stds[n]²) of N examples (N, D).

    ``samples`` draws z ~ q(z|x_n) per example (more draws: less Monte-Carlo noise in E log q(z));
    log q(z) averages all N posteriors (chunked: O(N·chunk·D) memory).
    """
    means, stds = means.double(), stds.double()
    n, d = means.shape
    noise = torch.randn((samples, n, d), generator=generator, dtype=means.dtype)
    z = (means + stds * noise).reshape(samples * n, d)
    # E_q[log q(z|x)] = −½ D log 2π − Σ_d log σ_d − ½ D, in closed form
    negative_entropy = (-0.5 * d * (math.log(2 * math.pi) + 1) - stds.log().sum(1)).mean()
    posterior = torch.distributions.Independent(torch.distributions.Normal(means, stds), 1)
    log_aggregate = torch.cat([
        torch.logsumexp(pairwise_log_density(posterior, z[start:start + chunk]).sum(-1), 1)
        for start in range(0, len(z), chunk)]) - math.log(n)
    return float(negative_entropy - log_aggregate.mean())


@torch.no_grad()
def collapse_diagnostics(model, data: torch.Tensor, batch_size: int = 500, max_examples: int = 5000,
                         seed: int = 0) -> dict[str, float | list[float]]:
    """KL (total and per dimension), active units and I_q(x; z) of ``model`` on the first
    ``max_examples`` rows of ``data`` (already prepared as the model expects), in eval mode."""
    was_training = model.training
    model.eval()
    data = data[:max_examples]
    means, stds, kls = [], [], []
    prior = model.prior()
    for start in range(0, len(data), batch_size):
        posterior = model.encode(data[start:start + batch_size])
        means.append(posterior.base_dist.loc)
        stds.append(posterior.base_dist.scale)
        kls.append(kl_per_dimension(posterior, prior))
    model.train(was_training)
    means, stds, kl = torch.cat(means), torch.cat(stds), torch.cat(kls).mean(0)
    return {"kl": float(kl.sum()), "kl_per_dimension": kl.tolist(), "active_units": active_units(means),
            "mutual_information": mutual_information(means, stds, generator=torch.Generator().manual_seed(seed))}
