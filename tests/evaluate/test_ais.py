"""Annealed importance sampling against closed forms.

Linear-Gaussian model: p(x|z) = N(Wz + b, s² I) and a prior that is a mixture of Gaussians
Σ_k π_k N(μ_k, diag v_k) (the standard normal is K = 1, μ = 0, v = 1), so that

    p(x) = Σ_k π_k N(x; W μ_k + b, W diag(v_k) Wᵀ + s² I)   exactly.
"""
import math

import pytest
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, MultivariateNormal, Normal

from two_by_two import ALL_IMAGES, self_fitted_vae
from vaekit.config import EvalConfig
from vaekit.evaluate.ais import ais_log_weights, sigmoid_schedule
from vaekit.evaluate.estimators import estimate_log_likelihood

LATENT, PIXELS, SCALE = 2, 5, 0.6


class LinearGaussian:
    """The model interface the estimators use: ``encode``, ``decode``, ``prior()``, ``eval()``."""

    def __init__(self, prior: str):
        generator = torch.Generator().manual_seed(0)
        self.weight = torch.randn(PIXELS, LATENT, generator=generator, dtype=torch.double)
        self.bias = 0.5 * torch.randn(PIXELS, generator=generator, dtype=torch.double)
        if prior == "standard":
            self.weights = torch.ones(1, dtype=torch.double)
            self.means = torch.zeros(1, LATENT, dtype=torch.double)
            self.variances = torch.ones(1, LATENT, dtype=torch.double)
        else:                                  # a learned-prior stand-in: three separated components
            self.weights = torch.tensor([0.5, 0.3, 0.2], dtype=torch.double)
            self.means = torch.tensor([[-1.5, 0.0], [1.5, 1.0], [0.0, -1.5]], dtype=torch.double)
            self.variances = torch.tensor([[0.25, 0.5], [0.5, 0.25], [0.3, 0.3]], dtype=torch.double)
        self.kind = prior

    def prior(self):
        if self.kind == "standard":
            return Independent(Normal(self.means[0], self.variances[0].sqrt()), 1)
        return MixtureSameFamily(Categorical(self.weights), Independent(Normal(self.means, self.variances.sqrt()), 1))

    def decode(self, z: torch.Tensor):
        return Independent(Normal(z @ self.weight.T + self.bias, SCALE), 1)

    def encode(self, x: torch.Tensor):
        """p(z|x) under a N(0, I) prior, shifted and widened: a deliberately imperfect q(z|x)."""
        precision = torch.eye(LATENT, dtype=torch.double) + self.weight.T @ self.weight / SCALE ** 2
        covariance = torch.linalg.inv(precision)
        mean = (x - self.bias) @ (covariance @ self.weight.T).T / SCALE ** 2
        return Independent(Normal(mean + 0.2, 1.5 * covariance.diagonal().sqrt()), 1)

    def eval(self):
        return self

    def exact_log_px(self, x: torch.Tensor) -> torch.Tensor:
        log_terms = [weight.log() + MultivariateNormal(self.weight @ mean + self.bias,
                                                       self.weight @ torch.diag(variance) @ self.weight.T
                                                       + SCALE ** 2 * torch.eye(PIXELS, dtype=torch.double)).log_prob(x)
                     for weight, mean, variance in zip(self.weights, self.means, self.variances)]
        return torch.logsumexp(torch.stack(log_terms), 0)


def model_and_data(prior: str, n: int = 6):
    model = LinearGaussian(prior)
    torch.manual_seed(5)
    return model, model.decode(model.prior().sample((n,))).sample()


@pytest.mark.parametrize("prior", ["standard", "mixture"])
@pytest.mark.parametrize("start", ["prior", "posterior"])
def test_ais_recovers_exact_log_px_of_a_linear_gaussian_model(prior, start):
    model, x = model_and_data(prior)
    exact = model.exact_log_px(x)
    torch.manual_seed(0)
    chains = 64
    log_weights = ais_log_weights(model, x, chains, num_steps=200, leapfrog_steps=5, start=start)   # (M, B)
    estimate = torch.logsumexp(log_weights, 0) - math.log(chains)
    weights = torch.exp(log_weights - log_weights.max(0).values)
    standard_error = weights.std(0) / weights.mean(0) / math.sqrt(chains)      # of log mean w (delta method)
    assert torch.all(standard_error < 0.3)                                   # the error is small ...
    assert torch.all((estimate - exact).abs() < 4 * standard_error + 0.02)   # ... and the estimate within it
    assert (log_weights.mean(0) - exact).mean() < 0                          # E log w ≤ log p(x) (Jensen)


@pytest.mark.parametrize("prior", ["standard", "mixture"])
@pytest.mark.parametrize("start", ["prior", "posterior"])
def test_ais_is_unbiased_on_a_short_path_with_many_chains(prior, start):
    """E[w] = p(x) for every T, not only as T → ∞: three annealing steps and 4096 chains are exact
    within their error. Weighting z_t after the transition instead of z_{t−1} is off by 0.2 to 3 nats here."""
    model, x = model_and_data(prior)
    exact = model.exact_log_px(x)
    torch.manual_seed(0)
    chains = 4096
    log_weights = ais_log_weights(model, x, chains, num_steps=3, leapfrog_steps=5, step_size=0.2, start=start)
    estimate = torch.logsumexp(log_weights, 0) - math.log(chains)
    weights = torch.exp(log_weights - log_weights.max(0).values)
    standard_error = weights.std(0) / weights.mean(0) / math.sqrt(chains)
    assert torch.all(standard_error < 0.1)
    assert torch.all((estimate - exact).abs() < 4 * standard_error + 0.01)


def test_more_annealing_steps_tighten_the_expected_log_weight():
    """E[log w] ≤ log p(x), with equality as T → ∞: the gap shrinks as T grows."""
    model, x = model_and_data("standard")
    exact = model.exact_log_px(x)
    gaps = []
    for steps in (5, 40, 320):
        torch.manual_seed(0)
        gaps.append(float((exact - ais_log_weights(model, x, 64, steps, leapfrog_steps=5).mean(0)).mean()))
    assert gaps[0] > gaps[1] > gaps[2] > 0 and gaps[2] < 0.2 * gaps[0]


@pytest.mark.parametrize("start, same_as", [("prior", "prior"), ("posterior", "is")])
def test_ais_with_one_step_is_importance_sampling_with_its_start_as_proposal(start, same_as):
    """T = 1: β_0 = 0, β_1 = 1, no transition, log w = log p(x, z_0) − log f_0(z_0), z_0 ~ f_0; with the
    same random numbers AIS gives the prior (or the q(z|x)) importance-sampling estimate exactly."""
    model = self_fitted_vae(2, train=False)
    ais = EvalConfig(estimator="ais", importance_samples=40, ais_steps=1, ais_start=start, batch_size=8)
    torch.manual_seed(0)
    annealed = estimate_log_likelihood(model, ALL_IMAGES, ais)
    torch.manual_seed(0)
    sampled = estimate_log_likelihood(model, ALL_IMAGES, EvalConfig(estimator=same_as, importance_samples=40,
                                                                    batch_size=8))
    assert torch.equal(annealed["log_px"], sampled["log_px"])
    assert annealed["decoder_evaluations"] == sampled["decoder_evaluations"] == 16 * 40


def test_sigmoid_schedule_runs_from_zero_to_one_symmetrically():
    assert sigmoid_schedule(1) == [0.0, 1.0]
    betas = torch.tensor(sigmoid_schedule(100), dtype=torch.double)
    assert betas[0] == 0 and betas[-1] == 1 and torch.all(betas.diff() > 0)
    torch.testing.assert_close(betas + betas.flip(0), torch.ones_like(betas))   # σ(−s) = 1 − σ(s)
    assert betas.diff()[0] < betas.diff()[50] / 10                              # dense near β = 0


def test_ais_rejects_an_unknown_start():
    model, x = model_and_data("standard")
    with pytest.raises(ValueError, match="start"):
        ais_log_weights(model, x, 4, 3, start="middle")
