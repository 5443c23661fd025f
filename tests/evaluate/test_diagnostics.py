"""Collapse diagnostics: the MI estimator against a closed form, KL per dimension, active units."""
import math

import pytest
import torch

from vaekit.evaluate import collapse_diagnostics, mutual_information
from vaekit.models import VAE


@pytest.mark.parametrize("gain, noise", [(1.0, 0.5), (2.0, 0.25), (0.3, 1.0)])
def test_mutual_information_of_a_linear_gaussian_encoder(gain, noise):
    """x ~ N(0, I_2), q(z|x) = N(a·x, s² I): I(x; z) = Σ_d ½ log(1 + a²/s²) in closed form."""
    x = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0))
    exact = 2 * 0.5 * math.log(1 + gain ** 2 / noise ** 2)
    estimate = mutual_information(gain * x, torch.full_like(x, noise), generator=torch.Generator().manual_seed(1))
    assert estimate == pytest.approx(exact, abs=0.05)
    assert estimate <= math.log(len(x))


def test_posterior_equal_to_the_prior_has_no_information():
    means, stds = torch.zeros(2000, 3), torch.ones(2000, 3)
    assert abs(mutual_information(means, stds)) < 0.1     # Monte-Carlo standard error ≈ √(1.5/2000) = 0.027


def test_collapse_diagnostics_of_a_vae_with_one_dead_dimension():
    torch.manual_seed(0)
    model = VAE(latent_dim=3, hidden=(), activation="identity", image_shape=(1, 2, 2))
    encoder = model.encoder[1][0]                          # Linear(4 → 6): means then log-variances
    with torch.no_grad():
        encoder.weight.zero_()
        encoder.bias.zero_()
        encoder.weight[0, 0] = 1.0                          # μ_0 = x_0; μ_1 = μ_2 = 0; σ = 1
        encoder.weight[1, 1] = 0.05                         # Var(μ_1) = 0.05² · Var(x_1) < 0.01
    x = torch.bernoulli(torch.full((1000, 1, 2, 2), 0.5), generator=torch.Generator().manual_seed(2))
    found = collapse_diagnostics(model, x)
    var0, var1 = float(x[:, 0, 0, 0].var(unbiased=False)), float((0.05 * x[:, 0, 0, 1]).var(unbiased=False))
    # KL(N(μ, 1) || N(0, 1)) = μ²/2, averaged over x
    expected = [float((x[:, 0, 0, 0] ** 2).mean()) / 2, float(((0.05 * x[:, 0, 0, 1]) ** 2).mean()) / 2, 0.0]
    assert found["kl_per_dimension"] == pytest.approx(expected, abs=1e-5)
    assert found["kl"] == pytest.approx(sum(expected), abs=1e-5)
    assert var0 > 0.01 > var1 and found["active_units"] == 1
    assert 0 < found["mutual_information"] < math.log(2)    # z carries at most the one bit of x_0 (plus a sliver)
