"""Learned priors p(z) — VampPrior and a mixture of Gaussians — against the mathematics they state."""

import math

import pytest
import torch
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal, kl_divergence

from vaekit import VAE, Trainer
from vaekit.config import ConfigError, ModelConfig, load_config
from vaekit.distributions import kl_term
from vaekit.distributions.posterior import POSTERIORS, GaussianPosterior
from vaekit.distributions.priors import PSEUDO_INPUT_MEAN, PSEUDO_INPUT_STD, DiagonalGaussianMixture, make_prior
from vaekit.evaluate import log_likelihood_estimate
from vaekit.models import load
from vaekit.objectives import elbo_terms, importance_log_weights
from vaekit.objectives.elbo import elbo

from two_by_two import ALL_IMAGES, SHAPE, self_fitted_vae

LEARNED = ("vamp", "mog")


def gaussian_density(z: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Π_d (2π σ_d²)^(-1/2) exp(−(z_d − μ_d)² / (2σ_d²)), written out; z (N, D) → (N,)."""
    return (torch.exp(-(z - mean) ** 2 / (2 * std ** 2)) / torch.sqrt(2 * math.pi * std ** 2)).prod(-1)


def brute_force_log_mixture(z: torch.Tensor, weights, means, stds) -> torch.Tensor:
    """log Σ_k π_k N(z; μ_k, diag σ_k²) by an explicit loop over the components."""
    density = torch.zeros(len(z), dtype=torch.double)
    for weight, mean, std in zip(weights, means, stds):
        density = density + weight * gaussian_density(z, mean, std)
    return density.log()


def small_vae(prior: str, components: int = 3, latent_dim: int = 2, dtype=torch.double) -> VAE:
    torch.manual_seed(0)
    return VAE(latent_dim=latent_dim, hidden=(8,), activation="tanh", image_shape=SHAPE, prior=prior,
               prior_components=components).to(dtype)


def prior_parameters(model: VAE) -> dict[str, torch.Tensor]:
    return {name: parameter.detach().clone() for name, parameter in model.prior_family.named_parameters()}


# log-densities -----------------------------------------------------------------------------
def test_mog_log_density_matches_brute_force():
    model = small_vae("mog", components=4, latent_dim=3)
    family = model.prior_family
    with torch.no_grad():
        family.means.copy_(torch.randn(4, 3) * 2)
        family.logvars.copy_(torch.randn(4, 3))
        family.logits.copy_(torch.randn(4))
    z = torch.randn(50, 3, dtype=torch.double) * 2                                    # (N, D)
    prior = model.prior()
    assert isinstance(prior, MixtureSameFamily) and prior.event_shape == (3,) and prior.batch_shape == ()
    weights = torch.softmax(family.logits.detach(), 0)
    expected = brute_force_log_mixture(z, weights, family.means.detach(), (0.5 * family.logvars.detach()).exp())
    torch.testing.assert_close(prior.log_prob(z), expected, atol=1e-10, rtol=0)
    assert prior.log_prob(z.view(5, 10, 3)).shape == (5, 10)                        # (K, B) for (K, B, D)


def test_vamp_log_density_is_the_mean_of_encoder_posteriors_at_the_pseudo_inputs():
    model = small_vae("vamp", components=5, latent_dim=3)
    family = model.prior_family
    with torch.no_grad():                      # some raw values outside [0, 1]: hardtanh must clamp them
        family.pseudo_inputs.copy_(torch.randn(5, *SHAPE))
    z = torch.randn(40, 3, dtype=torch.double) * 2
    prior = model.prior()
    assert isinstance(prior, MixtureSameFamily) and prior.event_shape == (3,) and prior.batch_shape == ()
    torch.testing.assert_close(prior.mixture_distribution.probs, torch.full((5,), 0.2, dtype=torch.double))

    pseudo_inputs = family.pseudo_inputs.detach().clamp(0, 1)                         # u_k ∈ [0, 1]
    posteriors = [model.encode(u.unsqueeze(0)) for u in pseudo_inputs]               # q(z | u_k), k = 1..K
    mean_of_densities = torch.stack([q.log_prob(z.unsqueeze(1)).squeeze(1).exp() for q in posteriors]).mean(0)
    brute_force = brute_force_log_mixture(z, [1 / 5] * 5, [q.mean[0].detach() for q in posteriors],
                                          [q.stddev[0].detach() for q in posteriors])
    torch.testing.assert_close(prior.log_prob(z), mean_of_densities.log(), atol=1e-10, rtol=0)
    torch.testing.assert_close(prior.log_prob(z), brute_force, atol=1e-10, rtol=0)


def test_initialisation_follows_the_papers():
    vamp = make_prior(ModelConfig(prior="vamp", image_shape=(1, 28, 28)))            # K = 500 pseudo-inputs
    raw = vamp.pseudo_inputs.detach()
    assert raw.shape == (500, 1, 28, 28)
    assert abs(raw.mean() - PSEUDO_INPUT_MEAN) < 1e-4 and abs(raw.std() - PSEUDO_INPUT_STD) < 1e-4  # ~6 SE
    mog = make_prior(ModelConfig(prior="mog", latent_dim=20))
    assert mog.means.shape == (500, 20) and abs(mog.means.mean()) < 0.05 and abs(mog.means.std() - 1) < 0.05
    assert torch.all(mog.logvars == 0) and torch.all(mog.logits == 0)
    assert set(dict(vamp.named_parameters())) == {"pseudo_inputs"} and not list(vamp.children())  # no model inside


# sampling ---------------------------------------------------------------------------------
def test_mog_samples_follow_the_mixture_weights_and_moments():
    """1-d, components at −20, 0, 20 (σ = 1, 0.5, 2): each region z < −10, |z| ≤ 10, z > 10 holds one
    component up to < 1e-6 of its mass, so region counts are multinomial(N, π)."""
    family = make_prior(ModelConfig(prior="mog", latent_dim=1, prior_components=3)).double()
    weights = torch.tensor([0.2, 0.5, 0.3], dtype=torch.double)
    means = torch.tensor([-20.0, 0.0, 20.0], dtype=torch.double)
    stds = torch.tensor([1.0, 0.5, 2.0], dtype=torch.double)
    with torch.no_grad():
        family.means.copy_(means.view(3, 1))
        family.logvars.copy_((2 * stds.log()).view(3, 1))
        family.logits.copy_(weights.log())
    torch.manual_seed(1)
    num_samples = 40_000
    z = family().sample((num_samples,)).squeeze(-1)                                  # (N,)
    counts = torch.stack([(z < -10).sum(), (z.abs() <= 10).sum(), (z > 10).sum()]).double()
    expected = num_samples * weights
    chi_square = ((counts - expected) ** 2 / expected).sum()
    assert chi_square < -2 * math.log(1e-4)          # χ²(2 dof) survival is exp(−x/2): p > 1e-4

    mean = (weights * means).sum()                                                   # Σ π_k μ_k
    variance = (weights * (stds ** 2 + means ** 2)).sum() - mean ** 2                # Σ π_k (σ_k² + μ_k²) − m²
    offset = means - mean
    fourth = (weights * (offset ** 4 + 6 * offset ** 2 * stds ** 2 + 3 * stds ** 4)).sum()  # E(z − m)⁴
    assert abs(z.mean() - mean) < 5 * math.sqrt(variance / num_samples)
    assert abs(z.var() - variance) < 5 * math.sqrt((fourth - variance ** 2) / num_samples)


@pytest.mark.parametrize("prior", LEARNED)
def test_vae_samples_from_its_learned_prior(prior):
    model = small_vae(prior, dtype=torch.float)
    images = model.sample(16)
    assert images.mean.shape == (16, *SHAPE) and images.sample().shape == (16, *SHAPE)
    first = model.sample_latents(16, torch.Generator().manual_seed(5))
    again = model.sample_latents(16, torch.Generator().manual_seed(5))
    assert first.shape == (16, 2) and torch.equal(first, again)


# KL and gradients -------------------------------------------------------------------------
@pytest.mark.parametrize("prior", LEARNED)
def test_kl_against_a_mixture_prior_is_monte_carlo_and_matches_quadrature(prior):
    """No closed form: kl_term must fall back to mean_k [log q(z_k|x) − log p(z_k)], which
    converges to ∫ q log(q/p) dz computed by the trapezoid rule on a grid."""
    model = small_vae(prior)
    x = ALL_IMAGES[[3, 12]]
    with torch.no_grad():
        posterior, prior_distribution = model.encode(x), model.prior()
        with pytest.raises(NotImplementedError):
            kl_divergence(posterior, prior_distribution)
        with pytest.raises(ValueError, match="Monte Carlo"):
            kl_term(posterior, prior_distribution)
        torch.manual_seed(2)
        z = posterior.sample((20_000,))                                                   # (K, B, D)
        log_ratio = posterior.log_prob(z) - prior_distribution.log_prob(z)                # (K, B)
        torch.testing.assert_close(kl_term(posterior, prior_distribution, z), log_ratio.mean(0))

        axis = torch.linspace(-10, 10, 801, dtype=torch.double)
        grid = torch.cartesian_prod(axis, axis).unsqueeze(1)                               # (G, 1, D)
        log_q = posterior.log_prob(grid)                                                   # (G, B)
        cell = torch.full((801,), (axis[1] - axis[0]).item(), dtype=torch.double)
        cell[[0, -1]] /= 2
        cell = torch.outer(cell, cell).view(-1, 1)                                          # trapezoid weights
        assert torch.allclose((log_q.exp() * cell).sum(0), torch.ones(2, dtype=torch.double), atol=1e-6)
        exact = (log_q.exp() * (log_q - prior_distribution.log_prob(grid)) * cell).sum(0)  # (B,)
    assert torch.all((log_ratio.mean(0) - exact).abs() < 5 * log_ratio.std(0) / math.sqrt(20_000))


@pytest.mark.parametrize("prior", LEARNED)
def test_elbo_gradient_reaches_the_prior_parameters(prior):
    """∂ELBO/∂θ for every prior parameter is nonzero and matches a central finite difference
    along a random direction v (same ε for every evaluation): (L(θ+hv) − L(θ−hv)) / 2h ≈ ∇L·v."""
    model = small_vae(prior)
    x = ALL_IMAGES

    def loss() -> torch.Tensor:
        torch.manual_seed(4)
        return elbo(model, x)[0]

    loss().backward()
    for name, parameter in model.prior_family.named_parameters():
        assert parameter.grad is not None and torch.all(torch.isfinite(parameter.grad)), name
        assert parameter.grad.abs().sum() > 0, name
        direction = torch.randn_like(parameter)
        step = 1e-6
        with torch.no_grad():
            parameter.add_(step * direction)
            upper = loss()
            parameter.sub_(2 * step * direction)
            lower = loss()
            parameter.add_(step * direction)
        torch.testing.assert_close((upper - lower) / (2 * step), (parameter.grad * direction).sum(),
                                   atol=1e-6, rtol=1e-5, msg=name)


# log p(x) on a tiny model -----------------------------------------------------------------
def tiny_model(prior: str) -> VAE:
    """``self_fitted_vae`` with a learned prior of 3 components, fitted with the encoder."""
    return self_fitted_vae(prior=prior, prior_components=3)


def exact_log_px(model: VAE, points: int = 401) -> torch.Tensor:
    """log ∫ p(x|z) p(z) dz with the learned prior's density, trapezoid rule on [−8, 8]²."""
    axis = torch.linspace(-8, 8, points, dtype=torch.double)
    grid = torch.cartesian_prod(axis, axis)                                            # (G, 2)
    weights = torch.full((points,), (axis[1] - axis[0]).item(), dtype=torch.double)
    weights[[0, -1]] /= 2
    log_cell = torch.cartesian_prod(weights.log(), weights.log()).sum(-1)              # (G,)
    with torch.no_grad():
        log_prior = model.prior().log_prob(grid)                                        # (G,)
        log_joint = model.decode(grid.unsqueeze(1)).log_prob(ALL_IMAGES)                # (G, 16)
        log_joint = log_joint + (log_prior + log_cell).unsqueeze(1)
    return torch.logsumexp(log_joint, 0)


@pytest.mark.parametrize("prior", LEARNED)
def test_importance_sampled_estimate_matches_quadrature_with_a_learned_prior(prior):
    model = tiny_model(prior)
    exact = exact_log_px(model)
    assert torch.allclose(torch.logsumexp(exact, 0), torch.zeros((), dtype=torch.double), atol=1e-6)  # Σ_x p(x) = 1
    num_samples = 20_000
    estimate = log_likelihood_estimate(model, ALL_IMAGES, num_samples=num_samples, chunk=2000, batch_size=16)
    with torch.no_grad():
        torch.manual_seed(6)
        log_weights = importance_log_weights(model, ALL_IMAGES, num_samples)            # (k, 16)
        log_likelihood, kl = elbo_terms(model, ALL_IMAGES, num_samples=5000)
    weights = (log_weights - log_weights.max(0).values).exp()
    standard_error = weights.std(0) / weights.mean(0) / math.sqrt(num_samples)     # of log mean w (delta method)
    assert standard_error.max() < 0.01                                             # q(z|x) is a useful proposal
    assert torch.all((estimate - exact).abs() < 5 * standard_error + 1e-3)
    bound = log_likelihood - kl                                                     # ELBO with the MC KL
    assert torch.all(bound < exact)                                                # the ELBO is a lower bound
    assert (exact - bound).mean() > 5 * (exact - estimate).abs().mean()            # and looser than L_k


# training and persistence -----------------------------------------------------------------
@pytest.mark.parametrize("prior", LEARNED)
def test_one_trainer_step_changes_the_prior(prior):
    model = small_vae(prior, dtype=torch.float)
    before = prior_parameters(model)
    history = Trainer(epochs=1, batch_size=16, lr=0.01, progress=False).fit(model, ALL_IMAGES.float())
    assert history.epochs[-1]["step"] == 1
    for name, value in prior_parameters(model).items():
        assert not torch.equal(value, before[name]), name


@pytest.mark.parametrize("prior", LEARNED)
def test_save_load_round_trips_the_prior(prior, tmp_path):
    model = small_vae(prior, dtype=torch.float)
    with torch.no_grad():
        for parameter in model.prior_family.parameters():
            parameter.add_(torch.rand_like(parameter))                     # away from the initial values
    model.save(tmp_path)
    loaded = load(tmp_path)
    saved, restored = prior_parameters(model), prior_parameters(loaded)
    assert saved.keys() == restored.keys() and all(torch.equal(saved[n], restored[n]) for n in saved)
    z = torch.randn(32, 2)
    with torch.no_grad():
        assert torch.equal(model.eval().prior().log_prob(z), loaded.prior().log_prob(z))


# bad input ---------------------------------------------------------------------------------
def test_unknown_prior_is_refused():
    with pytest.raises(ConfigError, match="model.prior: unknown prior 'gamma'"):
        VAE(image_shape=SHAPE, prior="gamma")


@pytest.mark.parametrize("prior", LEARNED)
def test_zero_components_are_refused_before_a_run_folder_exists(prior, tmp_path):
    with pytest.raises(ConfigError, match="model.prior_components must be >= 1, got 0"):
        VAE(image_shape=SHAPE, prior=prior, prior_components=0)
    with pytest.raises(ConfigError, match="model.prior_components must be ≥ 1, got 0"):   # refused when read
        load_config(overrides=[f"model.prior={prior}", "model.prior_components=0", "model.latent_dim=2",
                               "train.epochs=1", f"run_dir={tmp_path / 'run'}"])
    assert not (tmp_path / "run").exists()


def test_vamp_needs_a_gaussian_posterior(monkeypatch):
    with pytest.raises(ConfigError, match="model.prior=vamp needs model.posterior=gaussian.*got 'planar'"):
        make_prior(ModelConfig(prior="vamp", posterior="planar", image_shape=SHAPE))
    if "planar" not in POSTERIORS:       # flows not registered yet: a stand-in family under the name
        monkeypatch.setitem(POSTERIORS._entries, "planar", GaussianPosterior)
    with pytest.raises(ConfigError, match="model.prior=vamp needs model.posterior=gaussian.*got 'planar'"):
        VAE(image_shape=SHAPE, prior="vamp", posterior="planar", latent_dim=2, hidden=(8,))


def test_vamp_needs_an_image_shape():
    with pytest.raises(ConfigError, match=r"model.prior=vamp needs model.image_shape"):
        make_prior(ModelConfig(prior="vamp"))


def test_the_matrix_product_log_density_equals_torchs_mixture_in_value_and_gradient():
    """DiagonalGaussianMixture.log_prob (two GEMMs in float64) against MixtureSameFamily's broadcast,
    in float32, with components far from 0 and z right beside them (where the expansion cancels)."""
    torch.manual_seed(0)
    means = (torch.randn(7, 4) * 30).requires_grad_()
    log_scales = (torch.randn(7, 4) * 0.5 - 2).requires_grad_()
    logits = torch.randn(7).requires_grad_()
    z = torch.cat([means.detach()[:3] + 1e-3 * torch.randn(3, 4), torch.randn(5, 4) * 30]).view(2, 4, 4)
    z.requires_grad_()
    values, gradients = [], []
    for mixture in (MixtureSameFamily, DiagonalGaussianMixture):
        components = Independent(Normal(means, log_scales.exp()), 1)
        prior = mixture(Categorical(logits=logits), components)
        log_p = prior.log_prob(z)
        values.append(log_p)
        gradients.append(torch.autograd.grad(log_p.sum(), (z, means, log_scales, logits)))
    assert values[1].shape == (2, 4) and values[1].dtype == torch.float32
    torch.testing.assert_close(values[1], values[0], rtol=1e-5, atol=1e-4)
    for got, expected in zip(gradients[1], gradients[0]):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-3)


def test_a_mixture_of_other_components_is_refused():
    with pytest.raises(TypeError, match="diagonal Gaussians"):
        DiagonalGaussianMixture(Categorical(logits=torch.zeros(3)), Normal(torch.zeros(3), torch.ones(3)))
