"""Regularizers against exact values: TC of a known mixture, MMD of Gaussians, covariances."""
import math

import pytest
import torch
from torch.distributions import Independent, Normal

from vaekit.config import ObjectiveConfig, RegularizerConfig, ScheduleConfig
from vaekit.models import VAE
from vaekit.objectives import OBJECTIVES, REGULARIZERS, LatentBatch
from vaekit.objectives.regularizers import (aggregate_covariance, mmd_squared, permute_dims,
                                            stratified_log_weights)


def correlated_posteriors(n=64, generator=None):
    """q(z|x_n) = N(μ_n, 0.3² I) with μ_n = (t_n, t_n + 0.3 e_n): a strongly correlated q(z)."""
    t = torch.randn(n, 1, generator=generator, dtype=torch.float64)
    means = torch.cat([t, t + 0.3 * torch.randn(n, 1, generator=generator, dtype=torch.float64)], 1)
    return means, torch.full_like(means, 0.3)


def exact_total_correlation(means, stds, samples=100_000):
    """TC = E_q(z)[log q(z) − Σ_d log q(z_d)] with q(z) the whole N-component mixture, by Monte Carlo."""
    n = len(means)
    index = torch.randint(n, (samples,), generator=torch.Generator().manual_seed(1))
    z = means[index] + stds[index] * torch.randn(samples, means.shape[1], dtype=torch.float64,
                                                 generator=torch.Generator().manual_seed(2))
    log_q = Normal(means.unsqueeze(0), stds.unsqueeze(0)).log_prob(z.unsqueeze(1))
    joint = torch.logsumexp(log_q.sum(-1), 1) - math.log(n)
    marginals = (torch.logsumexp(log_q, 1) - math.log(n)).sum(-1)
    return float((joint - marginals).mean())


def minibatch_estimates(means, stds, name, estimator, batch_size, repeats=200):
    generator = torch.Generator().manual_seed(3)
    values = []
    for _ in range(repeats):
        chosen = torch.randperm(len(means), generator=generator)[:batch_size]
        posterior = Independent(Normal(means[chosen], stds[chosen]), 1)
        batch = LatentBatch(posterior, posterior.sample(), None, len(means), None)
        values.append(float(REGULARIZERS[name](batch, RegularizerConfig(name, estimator=estimator))))
    return sum(values) / repeats


def test_stratified_weights_rows_sum_to_one():
    weights = stratified_log_weights(5, 100, torch.zeros(())).exp()
    torch.testing.assert_close(weights.sum(1), torch.ones(5))
    assert weights[2, 2] == pytest.approx(1 / 100) and weights[4, 0] == pytest.approx((100 - 4) / (100 * 4))


def test_stratified_total_correlation_matches_the_exact_value_of_the_mixture():
    means, stds = correlated_posteriors(generator=torch.Generator().manual_seed(0))
    exact = exact_total_correlation(means, stds)
    assert exact > 0.5                                          # a strongly dependent q(z)
    assert minibatch_estimates(means, stds, "total-correlation", "mss", 32) == pytest.approx(exact, abs=0.04)


def test_weighted_sampling_is_offset_by_d_minus_one_log_n():
    means, stds = correlated_posteriors(generator=torch.Generator().manual_seed(0))
    exact = exact_total_correlation(means, stds)
    mws = minibatch_estimates(means, stds, "total-correlation", "mws", 32)
    assert mws - math.log(len(means)) == pytest.approx(exact, abs=0.04)


def test_a_product_grid_of_posteriors_has_no_total_correlation():
    """Means on the grid {a_i} × {b_j} with equal σ: q(z) = q(z_1)·q(z_2) exactly, so TC = 0."""
    generator = torch.Generator().manual_seed(4)
    a, b = torch.randn(8, generator=generator, dtype=torch.float64), torch.randn(8, generator=generator, dtype=torch.float64)
    means = torch.cartesian_prod(a, b)
    stds = torch.full_like(means, 0.4)
    assert exact_total_correlation(means, stds) == pytest.approx(0.0, abs=0.005)
    assert minibatch_estimates(means, stds, "total-correlation", "mss", 32) == pytest.approx(0.0, abs=0.04)


def test_mi_tc_and_dimension_kl_add_up_to_the_kl():
    """log q(z|x) − log p(z) = [log q(z|x) − log q(z)] + [log q(z) − Π q(z_d)] + [Π q(z_d) − log p(z)]."""
    means, stds = correlated_posteriors(32, torch.Generator().manual_seed(5))
    posterior = Independent(Normal(means, stds), 1)
    z = posterior.sample()
    batch = LatentBatch(posterior, z, None, 1000, None)
    parts = sum(float(REGULARIZERS[name](batch, RegularizerConfig(name))) for name in
                ("mutual-information", "total-correlation", "dimension-kl"))
    monte_carlo_kl = posterior.log_prob(z) - Normal(0.0, 1.0).log_prob(z).sum(-1)
    assert parts == pytest.approx(float(monte_carlo_kl.mean()), abs=1e-9)


def gaussian_rbf_expectation(mean_gap, variance_sum, dims, bandwidth2):
    """E exp(−‖x − y‖² / (2 s²)) for x − y ~ N(gap, variance_sum·I): a closed form."""
    ratio = bandwidth2 / (bandwidth2 + variance_sum)
    return ratio ** (dims / 2) * math.exp(-mean_gap ** 2 / (2 * (bandwidth2 + variance_sum)))


def test_rbf_mmd_of_two_gaussians_matches_its_closed_form():
    dims, n = 2, 3000
    generator = torch.Generator().manual_seed(6)
    x = torch.randn(n, dims, generator=generator, dtype=torch.float64)                       # N(0, I)
    y = 0.5 * torch.randn(n, dims, generator=generator, dtype=torch.float64) + torch.tensor([1.0, 0.0])
    s2 = float(dims)                                     # the kernel exp(−‖d‖²/(2D)) has s² = D
    exact = (gaussian_rbf_expectation(0, 2.0, dims, s2) + gaussian_rbf_expectation(0, 0.5, dims, s2)
             - 2 * gaussian_rbf_expectation(1.0, 1.25, dims, s2))
    assert float(mmd_squared(x, y, "rbf")) == pytest.approx(exact, abs=0.01)
    same = 0.0 + torch.randn(n, dims, generator=generator, dtype=torch.float64)
    assert abs(float(mmd_squared(x, same, "rbf"))) < 0.003 and abs(float(mmd_squared(x, same, "imq"))) < 0.003
    assert float(mmd_squared(x, y, "imq")) > 0.05


def test_dip_covariances_and_penalties():
    generator = torch.Generator().manual_seed(7)
    means = torch.randn(500, 3, generator=generator, dtype=torch.float64) @ torch.tensor(
        [[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.3]], dtype=torch.float64)
    stds = torch.rand(500, 3, generator=generator, dtype=torch.float64)
    batch = LatentBatch(Independent(Normal(means, stds), 1), means, None, 500, None)
    cov_i = torch.tensor(__import__("numpy").cov(means.numpy().T, bias=True))
    torch.testing.assert_close(aggregate_covariance(batch, "dip-i"), cov_i)
    cov_ii = cov_i + torch.diag((stds ** 2).mean(0))
    torch.testing.assert_close(aggregate_covariance(batch, "dip-ii"), cov_ii)
    config = RegularizerConfig("dip-ii", diagonal_weight=10.0)
    off = cov_ii.pow(2).sum() - cov_ii.diagonal().pow(2).sum()
    expected = off + 10.0 * (cov_ii.diagonal() - 1).pow(2).sum()
    assert float(REGULARIZERS["dip-ii"](batch, config)) == pytest.approx(float(expected))


def test_dip_ii_vanishes_when_the_aggregate_covariance_is_the_identity():
    means = torch.zeros(10, 4, dtype=torch.float64)
    batch = LatentBatch(Independent(Normal(means, torch.ones_like(means)), 1), means, None, 10, None)
    assert float(REGULARIZERS["dip-ii"](batch, RegularizerConfig("dip-ii"))) == 0.0


def test_permute_dims_keeps_marginals_and_breaks_dependence():
    z = torch.arange(1000.0).unsqueeze(1).repeat(1, 2)           # z_1 = z_2 exactly
    shuffled = permute_dims(z, torch.Generator().manual_seed(8))
    for d in range(2):
        assert torch.equal(shuffled[:, d].sort().values, z[:, d])
    assert abs(float(torch.corrcoef(shuffled.T)[0, 1])) < 0.1


def tiny_vae():
    return VAE(latent_dim=2, hidden=(8,), image_shape=(1, 4, 4))


def test_capacity_schedule_moves_the_target_and_weights_add_to_the_loss():
    torch.manual_seed(0)
    model, x = tiny_vae(), torch.bernoulli(torch.full((16, 1, 4, 4), 0.5))
    entry = RegularizerConfig("capacity", weight=100.0, capacity=10.0,
                              capacity_schedule=ScheduleConfig(kind="linear", steps=10))
    config = ObjectiveConfig(beta=0.0, regularizers=(entry,))
    for step, target in ((0, 0.0), (5, 5.0), (10, 10.0)):
        torch.manual_seed(1)
        loss, terms = OBJECTIVES["elbo"](model, x, config, step=step)
        assert float(terms["capacity"]) == pytest.approx(abs(float(terms["kl"]) - target), abs=1e-5)
        assert loss.item() == pytest.approx(float(terms["reconstruction"] + 100.0 * terms["capacity"]), rel=1e-5)


def test_kl_schedule_scales_only_the_training_loss():
    torch.manual_seed(0)
    model, x = tiny_vae(), torch.bernoulli(torch.full((16, 1, 4, 4), 0.5))
    config = ObjectiveConfig(beta=2.0, kl_schedule=ScheduleConfig(kind="linear", steps=4))
    torch.manual_seed(1)
    loss, terms = OBJECTIVES["elbo"](model, x, config, step=1)            # β(1) = 2 · 1/4
    assert loss.item() == pytest.approx(float(terms["reconstruction"] + 0.5 * terms["kl"]), rel=1e-5)
    assert float(terms["elbo"]) == pytest.approx(float(-terms["reconstruction"] - terms["kl"]), rel=1e-5)


@pytest.mark.parametrize("objective, message", [
    (ObjectiveConfig(regularizers=(RegularizerConfig("foo"),)), r"regularizers\[0\].name: unknown regularizer 'foo'"),
    (ObjectiveConfig(kl_schedule=ScheduleConfig(kind="cosine", steps=5)), "objective.kl_schedule.kind"),
    (ObjectiveConfig(regularizers=(RegularizerConfig("mmd", schedule=ScheduleConfig(kind="linear")),)),
     r"regularizers\[0\].schedule.steps must be > 0"),
    (ObjectiveConfig(regularizers=(RegularizerConfig("mmd", kernel="gauss"),)), r"regularizers\[0\].kernel"),
    (ObjectiveConfig(free_bits=-1.0), "free_bits"),
])
def test_a_bad_objective_is_refused_before_training_naming_the_key(objective, message):
    from vaekit import Trainer
    from vaekit.config import ConfigError, TrainConfig
    with pytest.raises(ConfigError, match=message):
        Trainer(TrainConfig(), objective)
