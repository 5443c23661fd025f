import math

import torch
from torch.distributions import AffineTransform, Independent, Normal, TransformedDistribution

from vaekit.distributions import diagonal_gaussian, kl_per_dimension, kl_term, standard_normal


def test_analytic_kl_matches_closed_form_and_monte_carlo():
    params = torch.randn(4, 6)                                   # (B, 2D), D = 3
    posterior, prior = diagonal_gaussian(params), standard_normal(3)
    mean, logvar = params.chunk(2, -1)
    closed_form = 0.5 * (logvar.exp() + mean ** 2 - 1 - logvar).sum(-1)
    torch.testing.assert_close(kl_term(posterior, prior), closed_form)
    z = posterior.sample((200_000,))
    monte_carlo = (posterior.log_prob(z) - prior.log_prob(z)).mean(0)
    standard_error = (posterior.log_prob(z) - prior.log_prob(z)).std(0) / math.sqrt(len(z))
    assert torch.all((monte_carlo - closed_form).abs() < 5 * standard_error)


def test_kl_per_dimension_sums_to_the_kl():
    posterior, prior = diagonal_gaussian(torch.randn(5, 8)), standard_normal(4)
    per_dim = kl_per_dimension(posterior, prior)
    assert per_dim.shape == (5, 4) and torch.all(per_dim >= 0)
    torch.testing.assert_close(per_dim.sum(-1), kl_term(posterior, prior))


def test_monte_carlo_fallback_when_no_analytic_kl_exists():
    """A Normal written as an affine transform of N(0,1) has no registered KL: Monte Carlo is used."""
    loc, scale = torch.tensor([0.5, -1.0]), torch.tensor([0.7, 1.5])
    posterior = Independent(TransformedDistribution(Normal(torch.zeros(2), torch.ones(2)),
                                                    [AffineTransform(loc, scale)]), 1)
    prior = standard_normal(2)
    z = posterior.sample((400_000,)).unsqueeze(1)                # (K, B=1, D)
    estimate = kl_term(posterior, prior, z)
    exact = kl_term(Independent(Normal(loc, scale), 1), prior)
    assert abs(float(estimate) - float(exact)) < 0.01
