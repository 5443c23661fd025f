"""Planar and IAF posteriors against mathematics: log-determinants against autograd Jacobians,
the planar invertibility constraint, the IAF inverse and its triangular Jacobian, densities that
integrate to 1, and importance-sampled log p(x) against exact quadrature on a tiny VAE."""

import math

import numpy as np
import pytest
import torch
from torch.autograd.functional import jacobian
from torch.distributions import Normal

import vaekit
from vaekit import VAE, ConfigError, ModelConfig, Trainer, TrainingError
from vaekit.distributions import kl_term, standard_normal
from vaekit.distributions.flows import FlowPosterior, IAFPosterior, PlanarPosterior, PlanarTransform
from vaekit.distributions.posterior import POSTERIORS, stop_parameter_gradients
from vaekit.evaluate import log_likelihood_estimate
from vaekit.objectives import elbo_terms

from two_by_two import ALL_IMAGES, SHAPE, self_fitted_vae



# helpers ------------------------------------------------------------------------------
def iaf_family(latent_dim: int, steps: int = 2, context: int = 3, gain: float = 2.0) -> IAFPosterior:
    """An IAF family in double precision whose MADE weights are scaled by ``gain``: far from identity."""
    torch.manual_seed(1)
    family = IAFPosterior(ModelConfig(latent_dim=latent_dim, flow_length=steps, flow_hidden=(16, 16),
                                      flow_context=context)).double()
    with torch.no_grad():
        for parameter in family.parameters():
            parameter.mul_(gain)
    return family


def planar_features(batch: int, latent_dim: int, flows: int, scale: float = 1.5) -> torch.Tensor:
    """Encoder features [μ, log σ², (u, w, b) per flow] with μ ~ N(0, 0.5²), σ = 0.8 and strong flows."""
    torch.manual_seed(2)
    mean = 0.5 * torch.randn(batch, latent_dim, dtype=torch.double)
    logvar = torch.full((batch, latent_dim), 2 * math.log(0.8), dtype=torch.double)
    flow = scale * torch.randn(batch, flows * (2 * latent_dim + 1), dtype=torch.double)
    return torch.cat([mean, logvar, flow], -1)


def planar_inverse(transform: PlanarTransform, y: torch.Tensor) -> torch.Tensor:
    """f⁻¹(y) by bisection on α = wᵀz, which solves wᵀy = α + wᵀû tanh(α + b) (increasing in α)."""
    target = (y * transform.w).sum(-1)                                        # (..., B)
    low, high = target - transform.w_dot_u_hat.abs() - 1, target + transform.w_dot_u_hat.abs() + 1
    for _ in range(100):
        middle = (low + high) / 2
        above = middle + transform.w_dot_u_hat * torch.tanh(middle + transform.b) > target
        low, high = torch.where(above, low, middle), torch.where(above, middle, high)
    return y - transform.u_hat * torch.tanh((low + high) / 2 + transform.b).unsqueeze(-1)


def grid_2d(points: int, half_width: float = 8.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Grid (G, 2) over [−w, w]² and the log of its trapezoid weights (G,)."""
    axis = torch.linspace(-half_width, half_width, points, dtype=torch.double)
    weights = torch.full((points,), (axis[1] - axis[0]).item(), dtype=torch.double)
    weights[[0, -1]] /= 2
    return torch.cartesian_prod(axis, axis), torch.cartesian_prod(weights.log(), weights.log()).sum(-1)


def total_variation(log_density: torch.Tensor, log_other: torch.Tensor, log_cell: torch.Tensor) -> torch.Tensor:
    """½ ∫ |q − q'| dz by the trapezoid rule from log-densities (G, B) on a grid; shape (B,)."""
    return 0.5 * ((log_density.exp() - log_other.exp()).abs() * log_cell.exp().unsqueeze(1)).sum(0)


def block_log_dets(function, z: torch.Tensor) -> torch.Tensor:
    """log |det ∂f(z)/∂z| of every (sample, example) block of a map (K, B, D) → (K, B, D), by autograd."""
    full = jacobian(function, z)                                                # (K, B, D, K, B, D)
    samples, batch, _ = z.shape
    blocks = torch.stack([torch.stack([full[k, i, :, k, i, :] for i in range(batch)]) for k in range(samples)])
    return torch.linalg.slogdet(blocks).logabsdet                               # (K, B)


# log-determinants and invertibility ----------------------------------------------------
def test_planar_log_det_matches_autograd_jacobian():
    features = planar_features(batch=4, latent_dim=3, flows=1)
    transform = PlanarPosterior(ModelConfig(latent_dim=3, flow_length=1))(features).transforms[0]
    z = 2 * torch.randn(5, 4, 3, dtype=torch.double)                            # broadcasts over (K, B)
    torch.testing.assert_close(transform.log_abs_det_jacobian(z, transform(z)),
                               block_log_dets(transform._call, z), atol=1e-10, rtol=0)


def test_iaf_log_det_matches_autograd_jacobian():
    family = iaf_family(latent_dim=4, steps=2)
    posterior = family(torch.randn(3, 8 + 3, dtype=torch.double))
    z = torch.randn(2, 3, 4, dtype=torch.double)
    for transform in posterior.transforms:
        torch.testing.assert_close(transform.log_abs_det_jacobian(z, transform(z)),
                                   block_log_dets(transform._call, z), atol=1e-10, rtol=0)


def test_planar_constraint_keeps_the_flow_invertible_from_w_dot_u_minus_10():
    w = torch.tensor([[1.0, 2.0, 0.0]], dtype=torch.double)
    u = -2.0 * w + torch.tensor([[2.0, -1.0, 3.0]], dtype=torch.double)         # wᵀu = −10
    b = torch.tensor([0.3], dtype=torch.double)
    assert float((w * u).sum()) == -10.0
    transform = PlanarTransform(u, w, b)
    w_dot_u_hat = (w * transform.u_hat).sum(-1)
    torch.testing.assert_close(w_dot_u_hat, transform.w_dot_u_hat)
    torch.testing.assert_close(w_dot_u_hat, torch.tensor([-1 + math.log1p(math.exp(-10))], dtype=torch.double))
    assert float(w_dot_u_hat) >= -1
    # along w, t ↦ wᵀf(t w/‖w‖ + c)/‖w‖ is strictly increasing: f is one-to-one
    t = torch.linspace(-20, 20, 4001, dtype=torch.double).unsqueeze(-1)
    z = t * w / w.norm() + torch.tensor([2.0, -1.0, 5.0], dtype=torch.double)   # (T, 3), offset ⟂ w plus along w
    along = (transform(z) * w).sum(-1) / w.norm()
    assert torch.all(along.diff() > 0)
    assert torch.all(torch.isfinite(transform.log_abs_det_jacobian(z, transform(z))))
    # without the constraint (û = u) the same map folds over: it would not be invertible
    alpha = (z * w).sum(-1)
    assert torch.any((alpha + (w * u).sum() * torch.tanh(alpha + b)).diff() < 0)


def test_iaf_inverse_undoes_forward_and_jacobian_is_triangular_in_the_order():
    family = iaf_family(latent_dim=4, steps=2)
    features = torch.randn(3, 8 + 3, dtype=torch.double)
    first, second = family(features).transforms
    z = 3 * torch.randn(5, 3, 4, dtype=torch.double)
    for transform in (first, second):
        torch.testing.assert_close(transform.inv(transform(z).clone()), z, atol=1e-10, rtol=0)  # clone: no cache
        y = 3 * torch.randn(5, 3, 4, dtype=torch.double)
        torch.testing.assert_close(transform(transform.inv(y)), y, atol=1e-10, rtol=0)
    point = torch.randn(1, 3, 4, dtype=torch.double)
    lower = jacobian(first._call, point)[0, 0, :, 0, 0, :]                      # step 1: order z_1, ..., z_4
    upper = jacobian(second._call, point)[0, 0, :, 0, 0, :]                     # step 2: reversed
    below = torch.ones(4, 4, dtype=torch.bool).tril(-1)                          # strictly below the diagonal
    assert torch.all(lower[~below & ~torch.eye(4, dtype=torch.bool)] == 0) and torch.all(lower[below] != 0)
    assert torch.all(upper[below] == 0) and torch.all(upper[below.T] != 0)
    torch.testing.assert_close(lower.diagonal(), first._gate(point)[1][0, 0].exp())            # ∂y_d/∂z_d = σ_d
    # the first variable's shift and gate depend on x through the context alone
    shift_of_context = jacobian(lambda h: family.steps[0](point, h)[0], features[:, 8:])
    assert shift_of_context[0, 0, 0].abs().sum() > 0


# densities -------------------------------------------------------------------------------
def test_iaf_density_integrates_to_one_and_mc_kl_matches_quadrature():
    family = iaf_family(latent_dim=2, steps=4)
    features = torch.cat([torch.tensor([[0.3, -0.5], [-1.0, 0.8]], dtype=torch.double),
                          torch.full((2, 2), 2 * math.log(0.7), dtype=torch.double),
                          torch.randn(2, 3, dtype=torch.double)], -1)
    with torch.no_grad():
        posterior = family(features)
        grid, log_cell = grid_2d(321)
        log_density = posterior.log_prob(grid.unsqueeze(1))                      # (G, B), through the inverse
        torch.testing.assert_close(torch.logsumexp(log_density + log_cell.unsqueeze(1), 0),
                                   torch.zeros(2, dtype=torch.double), atol=1e-5, rtol=0)
        assert torch.all(total_variation(log_density, posterior.base_dist.log_prob(grid.unsqueeze(1)),
                                         log_cell) > 0.3)                       # far from the base Gaussian
        prior = standard_normal(2, like=features)
        exact_kl = ((log_density.exp() * log_cell.exp().unsqueeze(1))
                    * (log_density - prior.log_prob(grid).unsqueeze(1))).sum(0)  # ∫ q log q/p, (B,)
        with pytest.raises(ValueError, match="Monte Carlo"):
            kl_term(posterior, prior)                                           # no closed form for a flow
        z = posterior.rsample((100_000,))                                       # (K, B, 2)
        log_ratio = posterior.log_prob(z) - prior.log_prob(z)
        kl = kl_term(posterior, prior, z)
    torch.testing.assert_close(kl, log_ratio.mean(0))
    assert torch.all((kl - exact_kl).abs() < 5 * log_ratio.std(0) / math.sqrt(len(z)))


def test_planar_density_integrates_to_one_and_samples_follow_it():
    """q on a z-grid via a numerical inverse (bisection along w) and the library's log-determinants:
    ∫ q dz = 1 and E_q[g(z)] by samples = ∫ g q dz by quadrature, g(z) = z_1 + sin(2 z_2) + z_1 z_2."""
    family = PlanarPosterior(ModelConfig(latent_dim=2, flow_length=3))
    with torch.no_grad():
        posterior = family(planar_features(batch=2, latent_dim=2, flows=3, scale=0.7))  # smooth: 321² suffice
        grid, log_cell = grid_2d(321)
        base_points = grid.unsqueeze(1).expand(-1, 2, -1)                         # (G, B, 2)
        for transform in reversed(posterior.transforms):
            base_points = planar_inverse(transform, base_points)
        z = base_points
        for transform in posterior.transforms:                                   # primes each transform's cache
            z = transform(z)
        torch.testing.assert_close(z, grid.unsqueeze(1).expand(-1, 2, -1), atol=1e-9, rtol=0)
        log_density = posterior.log_prob(z)                                      # (G, B)
        torch.testing.assert_close(torch.logsumexp(log_density + log_cell.unsqueeze(1), 0),
                                   torch.zeros(2, dtype=torch.double), atol=1e-5, rtol=0)
        assert torch.all(total_variation(log_density, posterior.base_dist.log_prob(grid.unsqueeze(1)),
                                         log_cell) > 0.3)                       # far from the base Gaussian

        def g(points):
            return points[..., 0] + torch.sin(2 * points[..., 1]) + points[..., 0] * points[..., 1]

        quadrature = (g(grid).unsqueeze(1) * (log_density + log_cell.unsqueeze(1)).exp()).sum(0)
        values = g(posterior.rsample((200_000,)))                                 # (K, B)
    assert torch.all((values.mean(0) - quadrature).abs() < 5 * values.std(0) / math.sqrt(len(values)))


def test_planar_log_prob_needs_its_own_samples_and_mean_is_the_image_of_the_base_mean():
    family = PlanarPosterior(ModelConfig(latent_dim=2, flow_length=2))
    posterior = family(planar_features(batch=3, latent_dim=2, flows=2))
    z = posterior.rsample((4,))
    expected = posterior.base_dist.mean
    for transform in posterior.transforms:
        expected = expected + transform.u_hat * torch.tanh((expected * transform.w).sum(-1) + transform.b).unsqueeze(-1)
    torch.testing.assert_close(posterior.mean, expected)
    assert torch.all(torch.isfinite(posterior.log_prob(z)))                     # .mean kept the samples' cache
    with pytest.raises(NotImplementedError, match="only at its own samples"):
        posterior.log_prob(z.clone())


def test_flow_families_are_registered_and_refuse_stop_gradient():
    assert {"gaussian", "planar", "iaf"} <= set(POSTERIORS.names())
    for name in ("planar", "iaf"):
        model = VAE(latent_dim=2, hidden=(8,), image_shape=SHAPE, posterior=name, flow_length=2, flow_hidden=(8,),
                    flow_context=2)
        assert not model.posterior_family.supports_stop_gradient
        posterior = model.encode(ALL_IMAGES.float())
        assert isinstance(posterior, FlowPosterior) and posterior.batch_shape == (16,)
        assert torch.equal(model.code(ALL_IMAGES.float()), posterior.mean)
        with pytest.raises(ConfigError, match="objective.gradient"):
            stop_parameter_gradients(posterior)


# a tiny VAE: exact log p(x) by quadrature -------------------------------------------------
def tiny_model(posterior: str) -> VAE:
    """``self_fitted_vae`` with a two-step flow posterior: q(z|x) approximates p(z|x) as after training."""
    return self_fitted_vae(posterior=posterior, flow_length=2, flow_hidden=(16,), flow_context=4)


def exact_log_px(model: VAE, points: int = 401) -> torch.Tensor:
    """log ∫ p(x|z) N(z; 0, I) dz by the trapezoid rule on [−8, 8]², for all 16 images."""
    grid, log_cell = grid_2d(points)
    with torch.no_grad():
        log_joint = model.decode(grid.unsqueeze(1)).log_prob(ALL_IMAGES)             # (G, 16)
        log_joint = log_joint + Normal(0.0, 1.0).log_prob(grid).sum(-1, keepdim=True) + log_cell.unsqueeze(1)
    return torch.logsumexp(log_joint, 0)


@pytest.mark.parametrize("posterior", ["planar", "iaf"])
def test_flow_vae_importance_sampled_estimate_matches_numerical_integration(posterior):
    model = tiny_model(posterior)
    exact = exact_log_px(model)
    assert torch.allclose(torch.logsumexp(exact, 0), torch.zeros((), dtype=torch.double), atol=1e-6)  # Σ_x p(x) = 1
    estimate = log_likelihood_estimate(model, ALL_IMAGES, num_samples=40_000, chunk=4000, batch_size=16)
    with torch.no_grad():
        log_likelihood, kl = elbo_terms(model, ALL_IMAGES, num_samples=5000)
    torch.testing.assert_close(estimate, exact, atol=0.01, rtol=0)
    assert torch.all(log_likelihood - kl < exact + 1e-3)          # the ELBO is a lower bound
    assert (exact - (log_likelihood - kl)).mean() > 5 * (exact - estimate).abs().mean()    # L_k is tighter


# training, persistence, errors -------------------------------------------------------------
@pytest.mark.parametrize("posterior", ["planar", "iaf"])
def test_train_step_changes_weights_and_save_load_round_trips(posterior, tmp_path):
    model = VAE(latent_dim=2, hidden=(8,), image_shape=SHAPE, posterior=posterior, flow_length=2,
                flow_hidden=(8,), flow_context=3)
    before = {name: value.clone() for name, value in model.state_dict().items()}
    Trainer(epochs=1, batch_size=16, progress=False).fit(model, ALL_IMAGES.float())   # one optimizer step
    unchanged = [name for name, value in model.state_dict().items() if torch.equal(value, before[name])]
    assert unchanged == []

    model.save(tmp_path)
    loaded = vaekit.load(tmp_path)
    x = ALL_IMAGES.float()
    results = []
    for candidate in (model, loaded):
        torch.manual_seed(7)
        with torch.no_grad():
            posterior = candidate.encode(x)
            z = posterior.rsample((3,))
            results.append((z, posterior.log_prob(z), candidate.code(x)))
    for first, second in zip(*results):
        assert torch.equal(first, second)
    if posterior == "iaf":                                     # IAF: log q(z|x) at any z, through the inverse
        fixed = torch.randn(3, 16, 2)
        with torch.no_grad():
            torch.testing.assert_close(model.encode(x).log_prob(fixed), loaded.encode(x).log_prob(fixed),
                                       atol=0, rtol=0)


def test_unknown_posterior_and_bad_flow_settings_are_config_errors():
    with pytest.raises(ConfigError, match="model.posterior"):
        VAE(latent_dim=2, image_shape=SHAPE, posterior="radial")
    for posterior in ("planar", "iaf"):
        for length in (0, -1):
            with pytest.raises(ConfigError, match=f"model.flow_length must be >= 1, got {length}"):
                VAE(latent_dim=2, image_shape=SHAPE, posterior=posterior, flow_length=length)
    with pytest.raises(ConfigError, match="model.flow_context"):
        VAE(latent_dim=2, image_shape=SHAPE, posterior="iaf", flow_context=-1)
    for hidden in ((), (8, 0)):
        with pytest.raises(ConfigError, match="model.flow_hidden"):
            VAE(latent_dim=2, image_shape=SHAPE, posterior="iaf", flow_hidden=hidden)


def test_bad_flow_config_fails_before_the_run_folder_is_made(tmp_path):
    from vaekit.config import load_config
    from vaekit.runs import train_run

    np.save(tmp_path / "images.npy", np.random.default_rng(0).random((20, 4, 4)).astype(np.float32))
    run_dir = tmp_path / "run"
    overrides = [f"data.name={tmp_path / 'images.npy'}", f"run_dir={run_dir}", "model.posterior=planar",
                 "train.progress=false"]
    with pytest.raises(ConfigError, match="model.flow_length must be ≥ 1, got 0"):   # refused when read
        load_config(overrides=[*overrides, "model.flow_length=0"])
    with pytest.raises(ConfigError, match="model.flow_context"):                      # refused by the model
        train_run(load_config(overrides=[*overrides, "model.posterior=iaf", "model.flow_context=0"]))
    assert not run_dir.exists()


def singular_planar_model() -> VAE:
    """One planar flow with wᵀu = −10⁴ (so wᵀû = m(wᵀu) = −1 exactly) and w so small that
    h'(wᵀz + b) = 1: the flow collapses z along w and log |1 + ûᵀψ(z)| = −∞ at every sample."""
    model = VAE(latent_dim=2, hidden=(8,), image_shape=SHAPE, posterior="planar", flow_length=1).double()
    last = model.encoder[1][-1]
    with torch.no_grad():
        last.weight.zero_()                                    # features: μ, log σ², u, w, b
        last.bias.copy_(torch.tensor([0, 0, 0, 0, -1e14, 0, 1e-10, 0, 0], dtype=torch.double))
    return model


def test_non_finite_flow_log_determinant_stops_training_with_epoch_and_batch():
    planar = singular_planar_model()
    posterior = planar.encode(ALL_IMAGES)
    z = posterior.rsample((2,))
    assert torch.all(torch.isfinite(z))
    assert torch.all(posterior.log_prob(z) == math.inf)                        # log q = log q_0 − (−∞)

    iaf = VAE(latent_dim=2, hidden=(8,), image_shape=SHAPE, posterior="iaf", flow_length=2, flow_hidden=(8,),
              flow_context=2).double()
    with torch.no_grad():
        iaf.posterior_family.steps[0].output_layer.bias[2:] = -math.inf   # s_1 = −∞: σ_1 = 0, log σ_1 = −∞
    for model in (planar, iaf):
        with pytest.raises(TrainingError, match=r"non-finite loss \(inf\) at epoch 1, batch 0"):
            Trainer(epochs=1, batch_size=8, progress=False).fit(model, ALL_IMAGES)
