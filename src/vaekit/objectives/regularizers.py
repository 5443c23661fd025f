"""Regularizers of the extended objective  L = ELBO − λ1·E_x[R1(q(z|x))] − λ2·R2(q(z)).

R1 acts on each example's posterior; R2 on the aggregate posterior q(z) = (1/N) Σ_n q(z|x_n),
estimated on the minibatch. Each is a function ``(batch: LatentBatch, config) -> scalar``
registered in ``REGULARIZERS``; the ELBO adds ``weight · schedule(step) · R`` for each entry
of ``objective.regularizers``. The ELBO itself is written once, in ``objectives.elbo``.

Instances (with the paper that defines them):
- ``total-correlation``  TC = KL(q(z) || Π_d q(z_d))             β-TCVAE, Chen et al. 2018
- ``mutual-information`` I_q(x; z) = E[log q(z|x) − log q(z)]      Chen et al. 2018, eq. 2
- ``dimension-kl``       Σ_d KL(q(z_d) || p(z_d))                   Chen et al. 2018, eq. 2
- ``dip-i``/``dip-ii``   moments of Cov_q(z) pushed to I           Kumar et al. 2018
- ``mmd``                MMD²(q(z), p(z))                           InfoVAE, Zhao et al. 2017
- ``capacity``           |KL(q(z|x) || p(z)) − C|                   Burgess et al. 2018
FactorVAE's density-ratio TC (Kim & Mnih 2018) is ``total-correlation`` with
``estimator: discriminator``; its discriminator is trained by ``objectives.factor_vae``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch.distributions import Independent

from vaekit.config import ConfigError, RegularizerConfig
from vaekit.registry import Registry


@dataclass
class LatentBatch:
    """What a regularizer may look at: q(z|x) for the batch, one sample z ~ q per example."""
    posterior: Independent        # batch shape (B,), event shape (D,)
    z: torch.Tensor               # (B, D)
    kl: torch.Tensor              # KL(q(z|x) || p(z)) per example, (B,)
    dataset_size: int             # N, for the minibatch estimators of q(z)
    model: torch.nn.Module


Regularizer = Callable[[LatentBatch, RegularizerConfig], torch.Tensor]
REGULARIZERS: Registry[Regularizer] = Registry("regularizer")


# -- densities of the aggregate posterior ------------------------------------------------------
def pairwise_log_density(posterior: Independent, z: torch.Tensor) -> torch.Tensor:
    """log q(z_i,d | x_j) for every pair, shape (B_z, B_x, D)."""
    base = posterior.base_dist
    return torch.distributions.Normal(base.loc.unsqueeze(0), base.scale.unsqueeze(0),
                                      validate_args=False).log_prob(z.unsqueeze(1))


def stratified_log_weights(batch_size: int, dataset_size: int, like: torch.Tensor) -> torch.Tensor:
    """log of the minibatch-stratified-sampling weights (Chen et al. 2018, appendix C.1).

    Row i weighs the batch's posteriors when estimating q(z_i): 1/N for x_i itself, 1/M
    for the other M = B − 1 examples, except one of them, which stands for the strata the
    batch did not draw, weighted (N − M)/(N·M). Each row sums to 1. (Chen et al.'s released
    code puts the last row's stratum weight one row too high; here row i uses column i + 1 mod B.)
    """
    n, m = dataset_size, batch_size - 1
    if m < 1:
        raise ValueError("the stratified estimator needs a batch of at least 2 examples")
    weights = like.new_full((batch_size, batch_size), 1.0 / m)
    rows = torch.arange(batch_size)
    weights[rows, rows] = 1.0 / n
    weights[rows, (rows + 1) % batch_size] = (n - m) / (n * m)
    return weights.log()


def aggregate_log_densities(batch: LatentBatch, estimator: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Minibatch estimates of log q(z_i) and Σ_d log q(z_i,d), each of shape (B,).

    ``mws`` (minibatch weighted sampling): log q(z_i) ≈ logsumexp_j log q(z_i|x_j) − log(N·B)
    (Chen et al. eq. S4). Its TC is offset by (D − 1)·log N, a constant that leaves gradients
    unchanged; ``mss`` estimates TC itself (tests/objectives/test_regularizers.py checks both).
    ``mss`` (minibatch stratified sampling): the same logsumexp with the weights above.
    """
    log_q = pairwise_log_density(batch.posterior, batch.z)                # (B, B, D)
    b = log_q.shape[0]
    if estimator == "mws":
        offset = math.log(batch.dataset_size * b)
        joint = torch.logsumexp(log_q.sum(-1), 1) - offset
        marginals = (torch.logsumexp(log_q, 1) - offset).sum(-1)
    elif estimator == "mss":
        log_w = stratified_log_weights(b, batch.dataset_size, log_q)
        joint = torch.logsumexp(log_w + log_q.sum(-1), 1)
        marginals = torch.logsumexp(log_w.unsqueeze(-1) + log_q, 1).sum(-1)
    else:
        raise ConfigError(f"total-correlation estimator must be mss, mws or discriminator, got {estimator!r}")
    return joint, marginals


# -- the regularizers ---------------------------------------------------------------------------
@REGULARIZERS.register("total-correlation")
def total_correlation(batch: LatentBatch, config: RegularizerConfig) -> torch.Tensor:
    """TC = E_q(z)[log q(z) − Σ_d log q(z_d)] ≥ 0 (Watanabe 1960; β-TCVAE, Chen et al. 2018, eq. 4).

    With ``estimator: discriminator`` it is FactorVAE's density-ratio estimate
    E[log D(z) − log(1 − D(z))] (Kim & Mnih 2018, eq. 3), D = ``model.discriminator``.
    """
    if config.estimator == "discriminator":
        discriminator = getattr(batch.model, "discriminator", None)
        if discriminator is None:
            raise ConfigError("the discriminator TC estimator needs model.kind=factor-vae")
        logits = discriminator(batch.z)
        return (logits[:, 0] - logits[:, 1]).mean()
    joint, marginals = aggregate_log_densities(batch, config.estimator)
    return (joint - marginals).mean()


@REGULARIZERS.register("mutual-information")
def mutual_information(batch: LatentBatch, config: RegularizerConfig) -> torch.Tensor:
    """Index-code MI = E[log q(z|x) − log q(z)] (Chen et al. 2018, eq. 2, first term)."""
    joint, _ = aggregate_log_densities(batch, config.estimator)
    return (batch.posterior.log_prob(batch.z) - joint).mean()


@REGULARIZERS.register("dimension-kl")
def dimension_kl(batch: LatentBatch, config: RegularizerConfig) -> torch.Tensor:
    """Dimension-wise KL = E[Σ_d log q(z_d) − log p(z_d)] (Chen et al. 2018, eq. 2, third term)."""
    _, marginals = aggregate_log_densities(batch, config.estimator)
    prior = torch.distributions.Normal(0.0, 1.0).log_prob(batch.z).sum(-1)
    return (marginals - prior).mean()


def aggregate_covariance(batch: LatentBatch, kind: str) -> torch.Tensor:
    """Cov_q(z)[z] on the batch: Cov[μ(x)] (DIP-I) or Cov[μ(x)] + E[diag σ²(x)] (DIP-II), (D, D)."""
    mean = batch.posterior.mean
    centred = mean - mean.mean(0)
    covariance = centred.T @ centred / len(mean)
    if kind == "dip-ii":
        covariance = covariance + torch.diag(batch.posterior.variance.mean(0))
    return covariance


def dip_penalty(batch: LatentBatch, config: RegularizerConfig, kind: str) -> torch.Tensor:
    """Σ_{i≠j} C_ij² + (λ_d/λ_od)·Σ_i (C_ii − 1)²; the entry's weight is λ_od (Kumar et al. 2018, eq. 6)."""
    covariance = aggregate_covariance(batch, kind)
    diagonal = torch.diagonal(covariance)
    off_diagonal = covariance.pow(2).sum() - diagonal.pow(2).sum()
    return off_diagonal + config.diagonal_weight * (diagonal - 1).pow(2).sum()


@REGULARIZERS.register("dip-i")
def dip_i(batch: LatentBatch, config: RegularizerConfig) -> torch.Tensor:
    """DIP-VAE-I: penalise Cov[μ(x)] away from I (set diagonal_weight = 10 as the paper)."""
    return dip_penalty(batch, config, "dip-i")


@REGULARIZERS.register("dip-ii")
def dip_ii(batch: LatentBatch, config: RegularizerConfig) -> torch.Tensor:
    """DIP-VAE-II: penalise Cov_q(z)[z] = Cov[μ] + E[diag σ²] away from I (diagonal_weight = 1)."""
    return dip_penalty(batch, config, "dip-ii")


def kernel_matrix(a: torch.Tensor, b: torch.Tensor, kernel: str) -> torch.Tensor:
    """k(a_i, b_j) with scale C = 2·D (the variance of ‖z − z'‖² under N(0, I) per unit):
    RBF exp(−‖a − b‖² / C) or inverse multiquadric C / (C + ‖a − b‖²) (Tolstikhin et al. 2018)."""
    scale = 2.0 * a.shape[-1]
    distances = torch.cdist(a, b).pow(2)
    if kernel == "rbf":
        return torch.exp(-distances / scale)
    if kernel == "imq":
        return scale / (scale + distances)
    raise ConfigError(f"mmd kernel must be rbf or imq, got {kernel!r}")


def mmd_squared(x: torch.Tensor, y: torch.Tensor, kernel: str = "imq") -> torch.Tensor:
    """Unbiased MMD²(P, Q) from x ~ P (n, D), y ~ Q (m, D) (Gretton et al. 2012, eq. 3)."""
    n, m = len(x), len(y)
    k_xx, k_yy, k_xy = kernel_matrix(x, x, kernel), kernel_matrix(y, y, kernel), kernel_matrix(x, y, kernel)
    return ((k_xx.sum() - k_xx.diagonal().sum()) / (n * (n - 1))
            + (k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1)) - 2 * k_xy.mean())


@REGULARIZERS.register("mmd")
def maximum_mean_discrepancy(batch: LatentBatch, config: RegularizerConfig) -> torch.Tensor:
    """MMD²(q(z), p(z)) between the batch's z ~ q(z) and as many draws of N(0, I) (InfoVAE, eq. 8)."""
    prior_draws = torch.randn_like(batch.z)
    return mmd_squared(batch.z, prior_draws, config.kernel)


@REGULARIZERS.register("capacity")
def capacity(batch: LatentBatch, config: RegularizerConfig) -> torch.Tensor:
    """|E_batch KL(q(z|x) || p(z)) − C| (Burgess et al. 2018, eq. 8); C follows capacity_schedule.

    ``batch`` carries the step-scaled target in ``config.capacity`` (see ``objectives.elbo``)."""
    return (batch.kl.mean() - config.capacity).abs()


def permute_dims(z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shuffle each latent dimension independently across the batch: samples of Π_d q(z_d)
    (Kim & Mnih 2018, Algorithm 1)."""
    columns = [z[torch.randperm(len(z), generator=generator, device=z.device), d] for d in range(z.shape[1])]
    return torch.stack(columns, 1)


def discriminator_loss(model, z: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of D: class 0 for z ~ q(z), class 1 for permuted z ~ Π_d q(z_d)."""
    z = z.detach()
    logits = model.discriminator(torch.cat([z, permute_dims(z)]))
    labels = torch.cat([torch.zeros(len(z)), torch.ones(len(z))]).long().to(z.device)
    return F.cross_entropy(logits, labels)
