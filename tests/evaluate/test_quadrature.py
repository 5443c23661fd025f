"""Quadrature log p(x) against the linear-Gaussian closed form p(x) = N(b, WWᵀ + s²I)."""
import pytest
import torch
from torch.distributions import MultivariateNormal

from vaekit import VAE
from vaekit.evaluate.quadrature import log_likelihood_by_quadrature


@pytest.mark.parametrize("latent_dim", [1, 2])
def test_quadrature_matches_the_linear_gaussian_marginal(latent_dim):
    torch.manual_seed(0)
    model = VAE(latent_dim=latent_dim, hidden=(), activation="identity", likelihood="gaussian",
                likelihood_scale=0.7, image_shape=(1, 2, 2)).double()
    x = torch.randn(5, 1, 2, 2, dtype=torch.double)
    decoder = model.decoder[0][0]
    weight, bias = decoder.weight.detach(), decoder.bias.detach()
    exact = MultivariateNormal(bias, weight @ weight.T + 0.49 * torch.eye(4, dtype=torch.double)).log_prob(x.flatten(1))
    torch.testing.assert_close(log_likelihood_by_quadrature(model, x, limit=8.0, points=401), exact,
                               atol=1e-6, rtol=0)


def test_quadrature_refuses_more_than_two_dimensions():
    with pytest.raises(ValueError, match="1 or 2 dimensions, got 3"):
        log_likelihood_by_quadrature(VAE(latent_dim=3, image_shape=(1, 2, 2)), torch.zeros(1, 1, 2, 2))
