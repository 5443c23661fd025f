import math

import pytest
import torch
import torch.nn.functional as F

from vaekit.distributions import LIKELIHOODS, make_likelihood

SHAPE = (1, 3, 3)


def test_bernoulli_log_prob_is_negative_binary_cross_entropy():
    logits, x = torch.randn(2, *SHAPE), torch.randint(0, 2, (2, *SHAPE)).float()
    likelihood = make_likelihood("bernoulli", SHAPE)(logits)
    expected = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)
    torch.testing.assert_close(likelihood.log_prob(x), expected)
    torch.testing.assert_close(likelihood.mean, torch.sigmoid(logits))


def test_fixed_gaussian_is_scaled_squared_error_plus_normaliser():
    mean, x, scale = torch.randn(2, *SHAPE), torch.rand(2, *SHAPE), 0.3
    log_prob = make_likelihood("gaussian", SHAPE, scale)(mean).log_prob(x)
    d = math.prod(SHAPE)
    expected = -((x - mean) ** 2).flatten(1).sum(1) / (2 * scale ** 2) - 0.5 * d * math.log(2 * math.pi * scale ** 2)
    torch.testing.assert_close(log_prob, expected)


def test_continuous_bernoulli_is_normalised_unlike_bernoulli_on_grey_pixels():
    """∫₀¹ C(λ) λˣ(1−λ)¹⁻ˣ dx = 1 for every λ, while the Bernoulli formula integrates to 1/C(λ) ≤ ½."""
    logits = torch.tensor([-3.0, -0.5, 0.0, 0.4, 2.5, 6.0]).view(6, 1, 1, 1)
    grid = torch.linspace(0, 1, 20001).view(-1, 1, 1, 1, 1)                    # (X, 6, 1, 1, 1)
    density = make_likelihood("continuous-bernoulli", (1, 1, 1))(logits).log_prob(grid).exp()
    torch.testing.assert_close(torch.trapezoid(density, grid.flatten(), dim=0), torch.ones(6), atol=1e-4, rtol=0)
    bernoulli_formula = make_likelihood("bernoulli", (1, 1, 1))(logits)
    bernoulli_mass = torch.trapezoid(bernoulli_formula.base_dist.log_prob(grid.expand(-1, 6, 1, 1, 1)).exp()
                                     .flatten(1), grid.flatten(), dim=0)
    assert torch.all(bernoulli_mass <= 0.5 + 1e-4)


def test_learned_gaussian_scale_receives_gradient():
    module = make_likelihood("gaussian-learned", SHAPE, 0.5)
    module(torch.zeros(2, *SHAPE)).log_prob(torch.rand(2, *SHAPE)).sum().backward()
    assert module.log_scale.grad is not None and module.log_scale.grad.abs().sum() > 0
    torch.testing.assert_close(module.log_scale.detach(), torch.full(SHAPE, math.log(0.5)))


@pytest.mark.parametrize("name", LIKELIHOODS.names())
def test_every_likelihood_has_image_event_shape_and_samples(name):
    module = make_likelihood(name, SHAPE)
    channels, height, width = SHAPE                          # the decoder emits outputs_per_pixel values per pixel
    likelihood = module(torch.zeros(5, 2, channels * module.outputs_per_pixel, height, width))
    assert likelihood.batch_shape == (5, 2) and likelihood.event_shape == SHAPE
    assert likelihood.sample().shape == (5, 2, *SHAPE)
