"""The two-layer VAE against mathematics: exact log p(x) by 2-d quadrature on a tiny model,
normalised densities, the ladder's Gaussian product, stopped-parameter densities, and the VAE
interface (training, save/load, config checks) every objective and metric relies on."""
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vaekit import Trainer, load
from vaekit.config import ConfigError, ObjectiveConfig, TrainConfig
from vaekit.distributions import diagonal_gaussian, kl_term
from vaekit.distributions.hierarchical import precision_weighted
from vaekit.distributions.posterior import stop_parameter_gradients
from vaekit.evaluate import log_likelihood_estimate
from vaekit.models import VAE, HierarchicalVAE
from vaekit.objectives import elbo_terms, iwae_bound

MODES = ("bottom-up", "ladder")
SHAPE = (1, 2, 2)                                 # 4 binary pixels: all 16 images can be listed
ALL_IMAGES = torch.tensor([[(i >> b) & 1 for b in range(4)] for i in range(16)], dtype=torch.double).view(16, *SHAPE)

# a 481 x 481 trapezoid grid over (z1, z2) in [−12, 12]²: p(z1|z2) reaches σ ≈ 2
AXIS = torch.linspace(-12, 12, 481, dtype=torch.double)
GRID = torch.cartesian_prod(AXIS, AXIS)                                   # (G, 2): columns z1, z2
_WEIGHTS = torch.full((len(AXIS),), (AXIS[1] - AXIS[0]).item(), dtype=torch.double)
_WEIGHTS[[0, -1]] /= 2
LOG_CELL = torch.cartesian_prod(_WEIGHTS.log(), _WEIGHTS.log()).sum(-1)  # (G,)


def tiny_model(inference: str, train: bool = True) -> HierarchicalVAE:
    """1-d z1, 1-d z2, 4 pixels; generative networks scaled so that p(z1|z2) and p(x|z1) depend strongly
    on their inputs. With ``train``, the inference networks alone are fitted to data from the model."""
    torch.manual_seed(3)
    model = HierarchicalVAE(latent_dims=(1, 1), hidden=(8,), hidden_upper=(8,), activation="tanh",
                            image_shape=SHAPE, inference=inference).double()
    generative = (*model.decoder.parameters(), *model.top_down.parameters())
    with torch.no_grad():
        for parameter in generative:
            parameter.mul_(2.0)
    if train:
        with torch.no_grad():
            data = model.sample(1024).sample()
        for parameter in generative:
            parameter.requires_grad_(False)
        Trainer(epochs=30, batch_size=64, lr=0.01, progress=False).fit(model, data)
    return model


def log_prior_by_hand(model: HierarchicalVAE, z: torch.Tensor) -> torch.Tensor:
    """log N(z2; 0, 1) + log N(z1; μ(z2), σ²(z2)) from the top-down network's [μ, log σ²]."""
    z1, z2 = z[..., :1], z[..., 1:]
    mean, log_var = model.top_down(z2).chunk(2, dim=-1)
    return (Normal(0.0, 1.0).log_prob(z2) + Normal(mean, torch.exp(0.5 * log_var)).log_prob(z1)).sum(-1)


@torch.no_grad()
def exact_log_px(model: HierarchicalVAE) -> torch.Tensor:
    """log ∫∫ p(x|z1) p(z1|z2) p(z2) dz1 dz2 for all 16 images, shape (16,)."""
    log_joint = model.decode(GRID.unsqueeze(1)).log_prob(ALL_IMAGES) + log_prior_by_hand(model, GRID).unsqueeze(1)
    return torch.logsumexp(log_joint + LOG_CELL.unsqueeze(1), 0)


@pytest.mark.parametrize("inference", MODES)
def test_importance_sampled_estimate_and_elbo_against_quadrature(inference):
    model = tiny_model(inference)
    exact = exact_log_px(model)
    assert torch.allclose(torch.logsumexp(exact, 0), torch.zeros((), dtype=torch.double), atol=1e-6)  # Σ_x p(x) = 1
    estimate = log_likelihood_estimate(model, ALL_IMAGES, num_samples=20_000, chunk=2000, batch_size=16)
    torch.testing.assert_close(estimate, exact, atol=0.01, rtol=0)
    with torch.no_grad():
        log_likelihood, kl = elbo_terms(model, ALL_IMAGES, num_samples=5000)       # KL by Monte Carlo
        # ELBO(x) = ∫ q(z|x) [log p(x, z) − log q(z|x)] dz on the grid
        log_q = model.encode(ALL_IMAGES).log_prob(GRID.unsqueeze(1))                  # (G, 16)
        log_joint = model.decode(GRID.unsqueeze(1)).log_prob(ALL_IMAGES) + log_prior_by_hand(model, GRID).unsqueeze(1)
        quadrature_elbo = (torch.exp(log_q + LOG_CELL.unsqueeze(1)) * (log_joint - log_q)).sum(0)
    elbo = log_likelihood - kl
    torch.testing.assert_close(elbo, quadrature_elbo, atol=0.02, rtol=0)
    assert torch.all(elbo < exact + 1e-3) and torch.all(quadrature_elbo < exact)   # the ELBO is a lower bound
    assert (exact - elbo).mean() > 5 * (exact - estimate).abs().mean()


def densities(model: HierarchicalVAE, images: torch.Tensor) -> dict:
    return {"posterior": model.encode(images), "prior": model.prior()}


@pytest.mark.parametrize("which", ["posterior", "prior"])
@pytest.mark.parametrize("inference", MODES)
def test_densities_integrate_to_one_and_samples_have_their_moments(inference, which):
    model = tiny_model(inference, train=False)
    images = ALL_IMAGES[[0, 6, 9, 15]]
    with torch.no_grad():
        distribution = densities(model, images)[which]
        batch = distribution.batch_shape
        grid = GRID.view(-1, *[1] * len(batch), 2)                                   # (G, *batch, 2)
        cell = LOG_CELL.view(-1, *[1] * len(batch))
        mass = torch.exp(distribution.log_prob(grid) + cell)                        # (G, *batch)
        torch.testing.assert_close(mass.sum(0), torch.ones(batch, dtype=torch.double), atol=1e-6, rtol=0)
        mean = (mass.unsqueeze(-1) * grid).sum(0)                                    # (*batch, 2)
        second = (mass[..., None, None] * grid.unsqueeze(-1) * grid.unsqueeze(-2)).sum(0)
        samples = distribution.rsample((100_000,))                                   # (N, *batch, 2)
        torch.testing.assert_close(samples.mean(0), mean, atol=0.02, rtol=0)
        empirical_second = (samples.unsqueeze(-1) * samples.unsqueeze(-2)).mean(0)
        torch.testing.assert_close(empirical_second, second, atol=0.05, rtol=0.02)
        # .mean: the root layer's exact mean, then the other layer's mean at it; ε = 0 gives the same path
        root = 0 if which == "posterior" and inference == "bottom-up" else 1
        torch.testing.assert_close(distribution.mean[..., root], mean[..., root], atol=1e-5, rtol=0)
        torch.testing.assert_close(distribution.mean, distribution.reparameterize(torch.zeros_like(mean)))
        if which == "prior":
            torch.testing.assert_close(distribution.log_prob(GRID), log_prior_by_hand(model, GRID))


def test_precision_weighted_merge_is_the_normalised_product_of_two_gaussians():
    first = diagonal_gaussian(torch.randn(5, 6, dtype=torch.double))                # (B, 2D), D = 3
    second = diagonal_gaussian(torch.randn(5, 6, dtype=torch.double))
    merged = precision_weighted(first, second)
    z = 3 * torch.randn(7, 5, 3, dtype=torch.double)
    # N(z; μa, σa²) N(z; μb, σb²) = N(μa; μb, σa² + σb²) · N(z; μ, σ²)
    normaliser = Normal(second.mean, (first.variance + second.variance).sqrt()).log_prob(first.mean).sum(-1)
    torch.testing.assert_close(merged.log_prob(z), first.log_prob(z) + second.log_prob(z) - normaliser)
    # extreme variances: the narrow Gaussian wins, nothing overflows
    narrow = diagonal_gaussian(torch.tensor([[1.0, -30.0]]))
    wide = diagonal_gaussian(torch.tensor([[-2.0, 20.0]]))
    merged = precision_weighted(narrow, wide)
    torch.testing.assert_close(merged.mean, narrow.mean)
    torch.testing.assert_close(merged.stddev, narrow.stddev)


def test_ladder_with_an_uninformative_bottom_up_term_follows_the_generative_top_down():
    """σ̂1² = e^20: q(z1|z2, x) = N(μ̂1, σ̂1²) · p(z1|z2) normalised is p(z1|z2)."""
    model = tiny_model("ladder", train=False)
    with torch.no_grad():
        model.inference.lower_gaussian.weight.zero_()
        model.inference.lower_gaussian.bias.copy_(torch.tensor([0.0, 20.0]))
        posterior = model.encode(ALL_IMAGES)
        z = torch.randn(10, 16, 2, dtype=torch.double)
        log_q_z1 = posterior.log_prob(z) - posterior.root.log_prob(z[..., 1:])
        log_p_z1 = log_prior_by_hand(model, z) - Normal(0.0, 1.0).log_prob(z[..., 1])
    torch.testing.assert_close(log_q_z1, log_p_z1, atol=1e-6, rtol=0)


def small_model(inference: str, **fields) -> HierarchicalVAE:
    return HierarchicalVAE(latent_dims=(3, 2), hidden=(16,), hidden_upper=(8,), activation="tanh",
                           image_shape=(1, 4, 4), inference=inference, **fields)


def binary_batch(size: int = 6) -> torch.Tensor:
    return torch.bernoulli(torch.rand(size, 1, 4, 4))


@pytest.mark.parametrize("inference", MODES)
def test_stopped_parameters_keep_value_and_z_gradient_and_pass_none_to_weights(inference):
    model = small_model(inference)
    posterior = model.encode(binary_batch())
    z = posterior.rsample((4,)).detach().requires_grad_()                      # (4, 6, 5)
    value = posterior.log_prob(z)
    stopped = stop_parameter_gradients(posterior).log_prob(z)
    torch.testing.assert_close(stopped, value)
    (gradient,) = torch.autograd.grad(value.sum(), z)
    (stopped_gradient,) = torch.autograd.grad(stopped.sum(), z, retain_graph=True)
    torch.testing.assert_close(stopped_gradient, gradient)
    stopped.sum().backward()
    assert all(parameter.grad is None for parameter in model.parameters())


@pytest.mark.parametrize("inference", MODES)
def test_iwae_with_one_sample_is_the_single_sample_elbo(inference):
    model, x = small_model(inference), binary_batch()
    torch.manual_seed(7)
    bound = iwae_bound(model, x, 1)
    torch.manual_seed(7)
    log_likelihood, kl = elbo_terms(model, x, 1)
    torch.testing.assert_close(bound, log_likelihood - kl)


def test_kl_falls_back_to_monte_carlo_and_matches_quadrature():
    model = tiny_model("bottom-up", train=False)
    posterior, prior = model.encode(ALL_IMAGES[:3]), model.prior()
    with pytest.raises(NotImplementedError):
        kl_divergence(posterior, prior)
    with pytest.raises(ValueError, match="no analytic KL"):
        kl_term(posterior, prior)
    with torch.no_grad():
        z = posterior.rsample((100_000,))                                           # (K, 3, 2)
        estimate = kl_term(posterior, prior, z)
        torch.testing.assert_close(estimate, (posterior.log_prob(z) - prior.log_prob(z)).mean(0))
        log_q = posterior.log_prob(GRID.unsqueeze(1))                                # (G, 3)
        log_p = prior.log_prob(GRID).unsqueeze(1)
        exact = (torch.exp(log_q + LOG_CELL.unsqueeze(1)) * (log_q - log_p)).sum(0)
    torch.testing.assert_close(estimate, exact, atol=0.02, rtol=0)


@pytest.mark.parametrize("inference", MODES)
def test_vae_interface_shapes_and_seeded_sampling(inference):
    model = small_model(inference, latent_dim=20)
    assert isinstance(model, VAE) and model.config.latent_dim == 5                 # set from latent_dims
    x = binary_batch()
    posterior = model.encode(x)
    assert posterior.batch_shape == (6,) and posterior.event_shape == (5,)
    assert posterior.rsample((3,)).shape == (3, 6, 5) and model.code(x).shape == (6, 5)
    assert model.prior().sample((4,)).shape == (4, 5)
    assert model.decode(torch.randn(7, 6, 5)).batch_shape == (7, 6)
    # decode reads z1 only
    z = torch.randn(6, 5)
    torch.testing.assert_close(model.decode(z).mean, model.decode(torch.cat([z[:, :3], z[:, 3:] + 1], 1)).mean)
    first, second = (model.sample(5, generator=torch.Generator().manual_seed(1)).mean for _ in range(2))
    assert first.shape == (5, 1, 4, 4) and torch.equal(first, second)


@pytest.mark.parametrize("objective", ["elbo", "iwae"])
@pytest.mark.parametrize("inference", MODES)
def test_a_train_step_changes_every_weight_and_an_evaluation_none(inference, objective):
    model, x = small_model(inference), binary_batch(8)
    trainer = Trainer(TrainConfig(epochs=1, batch_size=4, progress=False),
                      ObjectiveConfig(name=objective, num_samples=3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer.fit(model, x)
    unchanged = [k for k, v in model.state_dict().items() if torch.equal(v, before[k])]
    assert not unchanged, f"training left {unchanged} unchanged"
    after = {k: v.clone() for k, v in model.state_dict().items()}
    trainer.evaluate(model, x)
    assert all(torch.equal(v, after[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("inference", MODES)
def test_save_load_round_trips_exactly(inference, tmp_path):
    model = small_model(inference)
    model.save(tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert type(loaded) is HierarchicalVAE and loaded.config == model.config
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    x, z = binary_batch(), torch.randn(3, 5)
    model.eval()
    torch.testing.assert_close(loaded.code(x), model.code(x))
    torch.testing.assert_close(loaded.prior().log_prob(z), model.prior().log_prob(z))


@pytest.mark.parametrize("fields, message", [
    (dict(latent_dims=()), r"model\.latent_dims.*two stochastic layers"),
    (dict(latent_dims=(4,)), r"model\.latent_dims.*two stochastic layers"),
    (dict(latent_dims=(4, 3, 2)), r"model\.latent_dims.*two stochastic layers"),
    (dict(latent_dims=(4, 0)), r"model\.latent_dims.*two stochastic layers"),
    (dict(inference="top-down"), r"model\.inference must be bottom-up or ladder"),
    (dict(posterior="iaf"), r"model\.posterior.*single vector latent"),
    (dict(posterior="planar"), r"model\.posterior.*single vector latent"),
    (dict(prior="vamp"), r"model\.prior must be standard"),
    (dict(architecture="conv"), r"model\.architecture must be mlp"),
])
def test_bad_configs_name_the_key(fields, message):
    settings = dict(latent_dims=(3, 2), hidden=(16,), image_shape=(1, 4, 4)) | fields
    with pytest.raises(ConfigError, match=message):
        HierarchicalVAE(**settings)
