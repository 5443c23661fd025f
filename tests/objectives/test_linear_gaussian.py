"""The ELBO and IWAE code against the closed forms of a linear-Gaussian model.

p(z) = N(0, I), p(x|z) = N(Wz + b, s² I)  ⇒  p(x) = N(b, WWᵀ + s² I),
p(z|x) = N(Σ Wᵀ(x − b)/s², Σ) with Σ = (I + WᵀW/s²)⁻¹, and for q = N(m, diag v):
ELBO = −D/2 log(2πs²) − (‖x − Wm − b‖² + Σ_d v_d ‖W_d‖²)/(2s²) − KL(q || p).
"""
import math

import torch
from torch.distributions import MultivariateNormal

from vaekit import VAE
from vaekit.distributions import kl_term
from vaekit.evaluate import log_likelihood_estimate
from vaekit.objectives import elbo_terms
from vaekit.objectives import iwae_bound

LATENT, SCALE, SHAPE = 2, 0.6, (1, 2, 2)


def linear_vae() -> VAE:
    model = VAE(latent_dim=LATENT, hidden=(), activation="identity", likelihood="gaussian",
                likelihood_scale=SCALE, image_shape=SHAPE).double()
    with torch.no_grad():
        decoder = model.decoder[0][0]
        decoder.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 0.5], [1.0, 0.0], [0.0, -0.5]], dtype=torch.double))
        decoder.bias.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0], dtype=torch.double))
    return model


def exact_log_px(model: VAE, x: torch.Tensor) -> torch.Tensor:
    decoder = model.decoder[0][0]
    weight, bias = decoder.weight.detach(), decoder.bias.detach()
    covariance = weight @ weight.T + SCALE ** 2 * torch.eye(4, dtype=torch.double)
    return MultivariateNormal(bias, covariance).log_prob(x.flatten(1))


def set_posterior(model: VAE, mean_shift: float = 0.0, std_factor: float = 1.0) -> None:
    """W has orthogonal columns, so Σ is diagonal and the amortized Gaussian q can equal p(z|x);
    ``mean_shift`` and ``std_factor`` make it a deliberately imperfect q."""
    decoder, encoder = model.decoder[0][0], model.encoder[1][0]
    weight, bias = decoder.weight.detach(), decoder.bias.detach()
    sigma = torch.linalg.inv(torch.eye(LATENT, dtype=torch.double) + weight.T @ weight / SCALE ** 2)
    gain = sigma @ weight.T / SCALE ** 2                     # mean(x) = gain (x − b)
    with torch.no_grad():
        encoder.weight.zero_()
        encoder.bias.zero_()
        encoder.weight[:LATENT] = gain
        encoder.bias[:LATENT] = -gain @ bias + mean_shift
        encoder.bias[LATENT:] = torch.log(torch.diagonal(sigma) * std_factor ** 2)


def data(n: int = 6) -> torch.Tensor:
    return torch.randn(n, *SHAPE, dtype=torch.double)


def test_monte_carlo_elbo_matches_closed_form():
    model, x = linear_vae(), data()
    with torch.no_grad():
        posterior = model.encode(x)
        mean, variance = posterior.mean, posterior.variance
        decoder = model.decoder[0][0]
        weight, bias = decoder.weight, decoder.bias
        residual = ((x.flatten(1) - mean @ weight.T - bias) ** 2).sum(1)
        trace = (variance * (weight ** 2).sum(0)).sum(1)
        expected_log_likelihood = -2 * math.log(2 * math.pi * SCALE ** 2) - (residual + trace) / (2 * SCALE ** 2)
        closed_form = expected_log_likelihood - kl_term(posterior, model.prior())
        log_likelihood, kl = elbo_terms(model, x, num_samples=100_000)
        per_sample = model.decode(posterior.sample((100_000,))).log_prob(x)   # (K, B)
        standard_error = per_sample.std(0) / math.sqrt(len(per_sample))
    assert torch.all(((log_likelihood - kl) - closed_form).abs() < 5 * standard_error)
    assert torch.all(closed_form < exact_log_px(model, x))      # a strict bound when q ≠ p(z|x)


def test_bound_is_exact_for_every_sample_when_q_is_the_posterior():
    """q = p(z|x) makes log p(x,z) − log q(z|x) = log p(x) for every z: zero-variance estimate."""
    model, x = linear_vae(), data()
    set_posterior(model)
    with torch.no_grad():
        for _ in range(3):
            torch.testing.assert_close(iwae_bound(model, x, 1), exact_log_px(model, x))
        torch.testing.assert_close(log_likelihood_estimate(model, x, num_samples=7, chunk=3), exact_log_px(model, x))


def test_importance_sampled_estimate_converges_to_exact_log_px():
    model, x = linear_vae(), data()
    set_posterior(model, mean_shift=0.3, std_factor=1.3)
    with torch.no_grad():
        estimate = log_likelihood_estimate(model, x, num_samples=50_000, chunk=7000, batch_size=4)
        elbo = torch.stack([sum(elbo_terms(model, x, 20_000)[i] * s for i, s in ((0, 1), (1, -1)))])[0]
    exact = exact_log_px(model, x)
    torch.testing.assert_close(estimate, exact, atol=0.01, rtol=0)
    assert (estimate - exact).abs().mean() < 0.005
    assert torch.all(exact - elbo > 0.1)                         # the ELBO alone is visibly looser                         # the ELBO alone is visibly looser


def test_iwae_bound_increases_with_k_and_stays_below_log_px():
    model, x = linear_vae(), data(3)
    set_posterior(model, mean_shift=0.4, std_factor=1.6)
    with torch.no_grad():
        bounds = [torch.stack([iwae_bound(model, x, k) for _ in range(4000 // k)]).mean(0) for k in (1, 10, 100)]
    exact = exact_log_px(model, x)
    assert torch.all(bounds[0] < bounds[1]) and torch.all(bounds[1] < bounds[2])
    assert torch.all(bounds[2] < exact + 0.01)


# -- the IWAE encoder gradients: standard, STL (Roeder et al. 2017), DReG (Tucker et al. 2019) --
def encoder_gradients(model: VAE, x: torch.Tensor, k: int, gradient: str, repeats: int) -> torch.Tensor:
    """∇_φ of −L_k(x) (batch mean) for ``repeats`` independent draws, shape (repeats, |φ|).

    The draws are the replicas of one batch x repeated ``repeats`` times: one backward pass of
    Σ_r −mean_b L_k(x_b) gives ∂/∂h of every replica's encoder output h = Wx + c, and since the
    encoder is that one linear layer, replica r's gradient is (Σ_b ∂h_rb ⊗ x_b, Σ_b ∂h_rb), the
    order of ``model.encoder.parameters()`` (weight, bias)."""
    linear = model.encoder[1][0]
    assert [p.shape for p in model.encoder.parameters()] == [linear.weight.shape, linear.bias.shape]
    captured = []
    hook = linear.register_forward_hook(lambda module, inputs, output: captured.append((inputs[0], output)))
    try:
        replicas = x.repeat(repeats, *[1] * (x.dim() - 1))                      # (R·B, ...)
        bound = iwae_bound(model, replicas, k, gradient).view(repeats, len(x))
        (inputs, output), = captured
        output_gradient, = torch.autograd.grad(-bound.mean(1).sum(), output)    # (R·B, 2·LATENT)
    finally:
        hook.remove()
    output_gradient = output_gradient.view(repeats, len(x), -1)
    inputs = inputs.view(repeats, len(x), -1)
    weight = torch.einsum("rbo,rbi->roi", output_gradient, inputs).flatten(1)
    return torch.cat([weight, output_gradient.sum(1)], dim=1)



def welch_t(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-coordinate Welch t-statistic of mean(a) − mean(b)."""
    standard_error = (a.var(0) / len(a) + b.var(0) / len(b)).sqrt()
    return (a.mean(0) - b.mean(0)) / standard_error.clamp_min(1e-12)


def test_iwae_with_one_sample_is_the_elbo():
    """L_1 = log p(x|z) + log p(z) − log q(z|x): the single-sample ELBO with a Monte-Carlo KL,
    and in expectation the ELBO with the analytic KL."""
    model, x = linear_vae(), data(4)
    set_posterior(model, mean_shift=0.3, std_factor=1.3)
    with torch.no_grad():
        torch.manual_seed(5)
        bound = iwae_bound(model, x, 1)
        torch.manual_seed(5)
        posterior = model.encode(x)
        z = posterior.rsample((1,))
        single_sample_elbo = model.decode(z).log_prob(x)[0] - (posterior.log_prob(z) - model.prior().log_prob(z))[0]
        torch.testing.assert_close(bound, single_sample_elbo)
        draws = iwae_bound(model, x.repeat(20_000, 1, 1, 1), 1).view(20_000, len(x))   # independent draws
        log_likelihood, kl = elbo_terms(model, x, num_samples=200_000)
    assert torch.all((draws.mean(0) - (log_likelihood - kl)).abs() < 5 * draws.std(0) / math.sqrt(len(draws)))


def test_dreg_and_stl_leave_the_bound_and_the_decoder_gradient_unchanged():
    model, x = linear_vae(), data(3)
    set_posterior(model, mean_shift=0.3, std_factor=1.3)
    values, decoder_gradients = {}, {}
    for gradient in ("standard", "stl", "dreg"):
        torch.manual_seed(11)
        bound = iwae_bound(model, x, 5, gradient)
        values[gradient] = bound.detach()
        decoder_gradients[gradient] = torch.autograd.grad(-bound.mean(), list(model.decoder.parameters()))
    for gradient in ("stl", "dreg"):
        torch.testing.assert_close(values[gradient], values["standard"])
        for ours, reference in zip(decoder_gradients[gradient], decoder_gradients["standard"]):
            torch.testing.assert_close(ours, reference)


def test_dreg_is_unbiased_and_quieter_than_the_standard_iwae_gradient():
    """E[DReG] = E[standard] = ∇_φ L_k (Tucker et al. 2019, eq. 9), checked by Monte Carlo:
    no coordinate's Welch t-statistic beyond 4.5; and DReG's variance is lower at k = 20."""
    model, x = linear_vae(), data(2)
    set_posterior(model, mean_shift=0.5, std_factor=1.5)
    torch.manual_seed(0)
    standard = encoder_gradients(model, x, 20, "standard", 3000)
    dreg = encoder_gradients(model, x, 20, "dreg", 3000)
    moving = standard.std(0) > 1e-9                     # coordinates the bound depends on
    assert moving.sum() >= 8
    assert welch_t(dreg[:, moving], standard[:, moving]).abs().max() < 4.5
    assert (dreg[:, moving].var(0) < standard[:, moving].var(0)).float().mean() > 0.9
    biased = encoder_gradients(model, x, 20, "stl", 3000)   # STL is biased for k > 1: the test can see bias
    assert welch_t(biased[:, moving], standard[:, moving]).abs().max() > 6


def test_stl_is_unbiased_for_one_sample():
    model, x = linear_vae(), data(2)
    set_posterior(model, mean_shift=0.5, std_factor=1.5)
    torch.manual_seed(1)
    standard = encoder_gradients(model, x, 1, "standard", 3000)
    stl = encoder_gradients(model, x, 1, "stl", 3000)
    moving = standard.std(0) > 1e-9
    assert welch_t(stl[:, moving], standard[:, moving]).abs().max() < 4.5


def test_dreg_and_stl_vanish_when_q_is_the_exact_posterior():
    """q = p(z|x) makes every log w_i = log p(x): ∂ log w/∂z = 0, so STL and DReG are exactly 0
    for every draw (the zero-variance property), while the standard estimator is not."""
    model, x = linear_vae(), data(3)
    set_posterior(model)
    for gradient in ("stl", "dreg"):
        draws = encoder_gradients(model, x, 5, gradient, 5)
        assert draws.abs().max() < 1e-5            # rounding: the log-weights equal log p(x) to ~1e-7
    assert encoder_gradients(model, x, 5, "standard", 5).abs().max() > 1e-3
