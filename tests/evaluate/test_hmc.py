"""The HMC kernel against a known target: it must leave N(m, Σ) invariant, and its step-size
rule must settle at the acceptance rate it aims for."""
import pytest
import torch
from scipy.stats import chi2
from torch.distributions import MultivariateNormal, Normal

from vaekit.evaluate.hmc import Point, adapt_step_size, evaluate, hmc_transition

COVARIANCE = 0.25 * torch.tensor([[1.0, 0.8], [0.8, 1.0]], dtype=torch.double)
TARGET = MultivariateNormal(torch.tensor([0.5, -1.0], dtype=torch.double), COVARIANCE)
BINS = 4                                           # per whitened axis: 16 cells of probability 1/16 each


def target_point(z: torch.Tensor) -> Point:
    return evaluate(TARGET.log_prob, z)


def cell_counts(z: torch.Tensor) -> torch.Tensor:
    """Counts of z (N, 2) in the cells u ∈ quartile box, u = L⁻¹(z − m) ~ N(0, I) under the target."""
    whitened = torch.linalg.solve_triangular(torch.linalg.cholesky(COVARIANCE), (z - TARGET.mean).T, upper=False).T
    edges = Normal(0.0, 1.0).icdf(torch.linspace(0, 1, BINS + 1, dtype=torch.double)[1:-1])
    cells = torch.bucketize(whitened, edges)                                    # (N, 2) in 0..BINS−1
    return torch.bincount(cells[:, 0] * BINS + cells[:, 1], minlength=BINS * BINS)


def chi_square_p_value(counts: torch.Tensor) -> float:
    expected = counts.sum() / len(counts)
    return float(chi2.sf(float(((counts - expected) ** 2 / expected).sum()), len(counts) - 1))


def test_evaluate_returns_the_gradient_of_the_log_density_even_under_no_grad():
    z = torch.randn(5, 2, dtype=torch.double)
    with torch.no_grad():
        point = target_point(z)
    torch.testing.assert_close(point.log_density, TARGET.log_prob(z))
    torch.testing.assert_close(point.gradient, -(z - TARGET.mean) @ torch.linalg.inv(COVARIANCE))


@pytest.mark.parametrize("adapt", [False, True], ids=["fixed-step", "adapted-steps"])
def test_hmc_leaves_a_correlated_gaussian_invariant(adapt):
    """Chains started exactly from the target stay distributed as the target: cell frequencies
    after 100 transitions match 1/16 each. ε = 0.42 is near the leapfrog's stability limit
    2σ_min ≈ 0.45, where the energy error is large: without the Metropolis step the same test
    fails with χ² in the thousands."""
    torch.manual_seed(0)
    chains = 4000
    point = target_point(TARGET.sample((chains,)))
    step_size = torch.full((chains,), 0.42, dtype=torch.double)
    acceptance_rate = torch.full((chains,), 0.65, dtype=torch.double)
    accepted_fraction = []
    for _ in range(100):
        point, accepted = hmc_transition(target_point, point, step_size, leapfrog_steps=5)
        accepted_fraction.append(accepted.double().mean())
        if adapt:
            step_size, acceptance_rate = adapt_step_size(step_size, acceptance_rate, accepted)
    assert chi_square_p_value(cell_counts(point.z)) > 1e-3
    assert 0.3 < torch.stack(accepted_fraction).mean() < 0.95          # the test exercised rejections
    torch.testing.assert_close(point.log_density, TARGET.log_prob(point.z))


def test_step_size_adaptation_settles_at_acceptance_065():
    torch.manual_seed(1)
    chains = 2000
    point = target_point(TARGET.sample((chains,)))
    step_size = torch.full((chains,), 0.1, dtype=torch.double)
    acceptance_rate = torch.full((chains,), 0.65, dtype=torch.double)
    late = []
    for transition in range(160):
        point, accepted = hmc_transition(target_point, point, step_size, leapfrog_steps=5)
        step_size, acceptance_rate = adapt_step_size(step_size, acceptance_rate, accepted)
        if transition >= 110:
            late.append(accepted.double().mean())
    assert abs(float(torch.stack(late).mean()) - 0.65) < 0.03
    assert abs(float(acceptance_rate.mean()) - 0.65) < 0.03
    assert float(step_size.mean()) > 0.3                                # grew from 0.1 toward ~0.39


def test_adapt_step_size_follows_the_rule():
    step_size = torch.tensor([0.1, 0.1, 0.5, 1e-4], dtype=torch.double)
    rate = torch.tensor([0.65, 0.65, 0.9, 0.1], dtype=torch.double)
    accepted = torch.tensor([True, False, True, False])
    new_step, new_rate = adapt_step_size(step_size, rate, accepted)
    torch.testing.assert_close(new_rate, 0.9 * rate + 0.1 * accepted.double())
    torch.testing.assert_close(new_step, torch.tensor([0.102, 0.098, 0.5, 1e-4], dtype=torch.double))  # clipped


def test_proposals_with_non_finite_energy_are_rejected():
    """log f = −∞ outside the unit disc: no chain ever leaves it, however large the step."""
    def disc(z: torch.Tensor) -> torch.Tensor:
        inside = z.pow(2).sum(-1) < 1
        return torch.where(inside, -0.5 * z.pow(2).sum(-1), -torch.inf)

    torch.manual_seed(2)
    point = evaluate(disc, 0.3 * torch.randn(500, 2, dtype=torch.double).clamp(-1, 1))
    for _ in range(20):
        point, _ = hmc_transition(lambda z: evaluate(disc, z), point, 0.8, leapfrog_steps=3)
    assert torch.all(point.z.pow(2).sum(-1) < 1) and torch.all(torch.isfinite(point.log_density))
