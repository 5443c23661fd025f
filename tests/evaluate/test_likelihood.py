"""The importance-sampled log p(x) against exact marginals computed by numerical integration."""

import pytest
import torch
from torch.distributions import Normal

from vaekit import VAE
from vaekit.evaluate import active_units, log_likelihood_estimate, posterior_mean_variance
from vaekit.objectives import elbo_terms

from two_by_two import ALL_IMAGES, self_fitted_vae



def exact_log_px(model: VAE, latent_dim: int, points: int) -> torch.Tensor:
    """log ∫ p(x|z) N(z; 0, I) dz by the trapezoid rule on a grid over [−8, 8]^latent_dim."""
    axis = torch.linspace(-8, 8, points, dtype=torch.double)
    grid = torch.cartesian_prod(*[axis] * latent_dim).view(-1, latent_dim)          # (G, L)
    weights = torch.full((points,), (axis[1] - axis[0]).item(), dtype=torch.double)
    weights[[0, -1]] /= 2
    log_cell = torch.cartesian_prod(*[weights.log()] * latent_dim).view(-1, latent_dim).sum(-1)
    with torch.no_grad():
        log_joint = model.decode(grid.unsqueeze(1)).log_prob(ALL_IMAGES)             # (G, 16)
        log_joint = log_joint + Normal(0.0, 1.0).log_prob(grid).sum(-1, keepdim=True) + log_cell.unsqueeze(1)
    return torch.logsumexp(log_joint, 0)


@pytest.mark.parametrize("latent_dim, points", [(1, 4001), (2, 401)])
def test_importance_sampled_estimate_matches_numerical_integration(latent_dim, points):
    model = self_fitted_vae(latent_dim)
    exact = exact_log_px(model, latent_dim, points)
    assert torch.allclose(torch.logsumexp(exact, 0), torch.zeros((), dtype=torch.double), atol=1e-6)  # Σ_x p(x) = 1
    estimate = log_likelihood_estimate(model, ALL_IMAGES, num_samples=20_000, chunk=1500, batch_size=5)
    with torch.no_grad():
        log_likelihood, kl = elbo_terms(model, ALL_IMAGES, num_samples=5000)
    torch.testing.assert_close(estimate, exact, atol=0.01, rtol=0)
    assert torch.all(log_likelihood - kl < exact + 1e-3)          # the ELBO is a lower bound
    assert (exact - (log_likelihood - kl)).mean() > 5 * (exact - estimate).abs().mean()


def test_estimate_is_stable_for_very_unlikely_images():
    """Log-weights near −10⁴ underflow exp(); the log-sum-exp must stay finite and exact."""
    model = self_fitted_vae(1, train=False)
    with torch.no_grad():
        model.decoder[0][-1].weight.mul_(400.0)
        estimate = log_likelihood_estimate(model, ALL_IMAGES, num_samples=2000, chunk=300)
    assert torch.all(torch.isfinite(estimate)) and estimate.min() < -500


def test_estimate_rejects_nonsense_arguments():
    with pytest.raises(ValueError, match="num_samples"):
        log_likelihood_estimate(self_fitted_vae(1, train=False), ALL_IMAGES, num_samples=0)


def test_active_units_count_dimensions_whose_posterior_mean_varies():
    means = torch.randn(5000, 4) * torch.tensor([1.0, 0.2, 0.05, 0.0])   # variances 1, 0.04, 0.0025, 0
    torch.testing.assert_close(posterior_mean_variance(means), torch.tensor([1.0, 0.04, 0.0025, 0.0]),
                               atol=0.05, rtol=0.1)
    assert active_units(means) == 2
    assert active_units(means, threshold=0.001) == 3
