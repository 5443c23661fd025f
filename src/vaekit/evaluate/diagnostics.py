"""Posterior-collapse diagnostics of a VAE on a data set (logged every epoch by the Trainer).

- KL per latent dimension, E_x KL(q(z_d|x) || p(z_d)): a collapsed dimension has KL ≈ 0.
- Active units (Burda et al. 2016): d is active when Cov_x(E_q[z_d]) ≥ 0.01 (for a flow
  posterior, the code ``q.mean``: the flow's image of the base mean).
- Mutual information under q (Hoffman & Johnson 2016; He et al. 2019, eq. 4):
      I_q(x; z) = E_x E_{q(z|x)}[log q(z|x)] − E_{q(z)}[log q(z)],
  with log q(z) ≈ logsumexp_n log q(z|x_n) − log N over the N evaluated examples (the
  aggregate posterior by Monte Carlo; He et al.'s ``calc_mi`` does this per minibatch).
  The estimate is biased low by at most log N for any finite N, and I_q ≤ log N as well.
"""
from __future__ import annotations

import math

import torch

from vaekit.evaluate.active_units import active_units
from vaekit.evaluate.posterior_statistics import batch_kl, gaussian_parts
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
def mutual_information_from_log_density(posterior, chunk: int = 200, generator: torch.Generator | None = None,
                                        samples: int = 4) -> float:
    """I_q(x; z) for a posterior family known only through ``rsample`` and ``log_prob`` at any z
    (a hierarchical VAE's two-layer q): the same estimator as ``mutual_information``, with
    E_q[log q(z|x)] by Monte Carlo and log q(z) = logsumexp_n log q(z|x_n) − log N."""
    seed = None if generator is None else int(torch.randint(2 ** 62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        z = posterior.sample((samples,))                                   # (S, N, D)
    n = z.shape[1]
    own = posterior.log_prob(z).double()                                   # (S, N)
    flat = z.reshape(-1, 1, z.shape[-1])                                   # (S·N, 1, D)
    log_aggregate = torch.cat([torch.logsumexp(posterior.log_prob(flat[start:start + chunk]).double(), 1)
                               for start in range(0, len(flat), chunk)]) - math.log(n)
    return float(own.mean() - log_aggregate.mean())


@torch.no_grad()
def collapse_diagnostics(model, data: torch.Tensor, batch_size: int = 500, max_examples: int = 5000,
                         seed: int = 0) -> dict[str, float | list[float]]:
    """KL (total and, for factorised q and p, per dimension), active units and I_q(x; z) of
    ``model`` on the first ``max_examples`` rows of ``data`` (prepared as the model expects), in
    eval mode. For posteriors without a cheap density at other examples' samples (flows) I_q
    is NaN; for those known only by ``log_prob`` it is computed on at most 500 examples."""
    was_training = model.training
    model.eval()
    data = data[:max_examples]
    generator = torch.Generator().manual_seed(seed)
    codes, parts, kls, per_dimension = [], [], [], []
    prior = model.prior()
    for start in range(0, len(data), batch_size):
        posterior = model.encode(data[start:start + batch_size])
        codes.append(posterior.mean)
        parts.append(gaussian_parts(posterior))
        kl, kl_dims = batch_kl(posterior, prior)
        kls.append(kl)
        per_dimension.append(kl_dims)
    if all(part is not None for part in parts):
        information = mutual_information(torch.cat([m for m, _ in parts]), torch.cat([s for _, s in parts]),
                                         generator=generator)
    elif hasattr(posterior, "detach_parameters"):             # log q(z|x) at any z, e.g. two stochastic layers
        information = mutual_information_from_log_density(model.encode(data[:500]), generator=generator)
    else:
        information = float("nan")
    model.train(was_training)
    dims = [] if any(d is None for d in per_dimension) else torch.cat(per_dimension).mean(0).tolist()
    return {"kl": float(torch.cat(kls).mean()), "kl_per_dimension": dims,
            "active_units": active_units(torch.cat(codes)), "mutual_information": information}
