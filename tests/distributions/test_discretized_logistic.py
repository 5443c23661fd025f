"""The discretized logistic over 8-bit intensities: a normalised discrete distribution whose
log-probabilities, mean and samples agree with direct computations from the logistic CDF."""
import math

import pytest
import torch

from vaekit.config import EvalConfig, ModelConfig, ObjectiveConfig, TrainConfig
from vaekit.distributions import make_likelihood
from vaekit.distributions.discretized_logistic import DiscretizedLogistic
from vaekit.evaluate import evaluate_model
from vaekit.models import VAE
from vaekit.train import Trainer

LEVELS = torch.arange(256, dtype=torch.float64) / 255                     # every value k/255
LOCS = torch.tensor([-0.3, 0.0, 0.002, 0.37, 0.5, 0.999, 1.0, 1.4], dtype=torch.float64)
LOG_SCALES = torch.tensor([-7.0, -5.0, -3.0, -1.0, 0.0, 2.0, 7.0], dtype=torch.float64)


def grid_distribution(dtype=torch.float64) -> DiscretizedLogistic:
    loc, log_scale = torch.meshgrid(LOCS, LOG_SCALES, indexing="ij")     # (8, 7) pixels
    return DiscretizedLogistic(loc.to(dtype), log_scale.to(dtype))


def direct_probabilities(loc, log_scale) -> torch.Tensor:
    """P(k) = F(e⁺) − F(e⁻), F(t) = σ((t − μ)/s), edges at ±∞, in float64; shape (256, ...). Bins above μ
    use the same difference of survival functions, 1 − F = σ(−·), so neither form cancels."""
    upper = torch.cat([(torch.arange(255, dtype=torch.float64) + 0.5) / 255, torch.tensor([math.inf])])
    lower = torch.cat([torch.tensor([-math.inf]), (torch.arange(255, dtype=torch.float64) + 0.5) / 255])
    shape = (-1,) + (1,) * loc.dim()
    a = (upper.view(shape) - loc) * torch.exp(-log_scale)
    b = (lower.view(shape) - loc) * torch.exp(-log_scale)
    below_mean = (LEVELS.view(shape) < loc).expand_as(a)
    return torch.where(below_mean, torch.sigmoid(a) - torch.sigmoid(b), torch.sigmoid(-b) - torch.sigmoid(-a))


def test_the_probabilities_of_all_256_values_sum_to_one_per_pixel():
    distribution = grid_distribution()
    log_probs = distribution.log_prob(LEVELS.view(256, 1, 1))                 # (256, 8, 7)
    torch.testing.assert_close(log_probs.exp().sum(0), torch.ones(8, 7, dtype=torch.float64), atol=1e-12, rtol=0)
    log_probs32 = grid_distribution(torch.float32).log_prob(LEVELS.float().view(256, 1, 1))
    torch.testing.assert_close(log_probs32.double().exp().sum(0), torch.ones(8, 7, dtype=torch.float64),
                               atol=1e-5, rtol=0)


def test_log_prob_matches_the_direct_cdf_difference():
    distribution = grid_distribution()
    direct = direct_probabilities(distribution.loc, distribution.log_scale)         # (256, 8, 7)
    log_probs = distribution.log_prob(LEVELS.view(256, 1, 1))
    usable = direct > 1e-290                                   # not underflowed in float64
    torch.testing.assert_close(log_probs[usable], direct[usable].log(), atol=1e-7, rtol=1e-7)
    assert torch.isfinite(log_probs).all()                   # and finite even where the difference underflows
    log_probs32 = grid_distribution(torch.float32).log_prob(LEVELS.float().view(256, 1, 1))
    assert torch.isfinite(log_probs32).all()
    torch.testing.assert_close(log_probs32.double()[usable], direct[usable].log(), atol=2e-3, rtol=1e-4)


def test_log_prob_has_finite_gradients_at_extreme_parameters():
    loc = LOCS.clone().repeat_interleave(7).requires_grad_()
    log_scale = LOG_SCALES.clone().repeat(8).requires_grad_()
    DiscretizedLogistic(loc, log_scale).log_prob(LEVELS.view(256, 1)).sum().backward()
    assert torch.isfinite(loc.grad).all() and torch.isfinite(log_scale.grad).all()


def test_mean_is_the_probability_weighted_average_of_the_levels():
    distribution = grid_distribution()
    direct = direct_probabilities(distribution.loc, distribution.log_scale)
    torch.testing.assert_close(distribution.mean, (LEVELS.view(256, 1, 1) * direct).sum(0), atol=1e-12, rtol=0)


@pytest.mark.parametrize("loc, log_scale", [(0.3, -3.0), (-0.01, -4.0), (0.97, -2.5)])
def test_sampling_frequencies_match_the_probabilities(loc, log_scale):
    torch.manual_seed(0)
    num = 200_000
    distribution = DiscretizedLogistic(torch.tensor(loc, dtype=torch.float64), torch.tensor(log_scale, dtype=torch.float64))
    samples = distribution.sample((num,))
    torch.testing.assert_close(samples * 255, torch.round(samples * 255))
    frequencies = torch.bincount(torch.round(samples * 255).long(), minlength=256).double() / num
    expected = distribution.log_prob(LEVELS).exp()
    tolerance = 5 * (expected * (1 - expected) / num).sqrt() + 1e-5                 # 5 binomial standard errors
    assert torch.all((frequencies - expected).abs() <= tolerance)


def test_the_likelihood_reads_mean_and_log_scale_channels_and_checks_their_count():
    likelihood = make_likelihood("discretized-logistic", (1, 2, 2))
    output = torch.tensor([0.1, 0.5, 0.9, 0.2, -1.0, -2.0, -3.0, 20.0]).view(1, 2, 2, 2)   # [μ | log s]
    distribution = likelihood(output)
    assert distribution.batch_shape == (1,) and distribution.event_shape == (1, 2, 2)
    x = torch.tensor([0.0, 128.0, 255.0, 50.0]).view(1, 1, 2, 2) / 255
    base = DiscretizedLogistic(output[:, :1], output[:, 1:].clamp(-7, 7))          # log s clipped to ≤ 7
    torch.testing.assert_close(distribution.log_prob(x), base.log_prob(x).sum((1, 2, 3)))
    with pytest.raises(ValueError, match=r"needs 2C = 2 decoder channels .* got output of shape \(1, 1, 2, 2\)"):
        likelihood(torch.zeros(1, 1, 2, 2))


def eight_bit(num: int, shape=(1, 8, 8)) -> torch.Tensor:
    return torch.randint(0, 256, (num, *shape), generator=torch.Generator().manual_seed(0)).float() / 255


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_a_vae_with_it_trains_and_reports_an_importance_sampled_bits_per_dim(architecture):
    torch.manual_seed(0)
    image_shape = (1, 8, 8) if architecture == "mlp" else (1, 28, 28)
    model = VAE(ModelConfig(latent_dim=2, hidden=(16,), architecture=architecture, conv_channels=(4, 8),
                            likelihood="discretized-logistic", image_shape=image_shape))
    data = eight_bit(32, image_shape)
    history = Trainer(TrainConfig(epochs=2, batch_size=8, progress=False), ObjectiveConfig()).fit(model, data)
    assert math.isfinite(history.epochs[-1]["train_elbo"])
    sampled = model.sample(3)
    assert sampled.mean.shape == sampled.sample().shape == (3, *image_shape)
    metrics = evaluate_model(model, data[:8], EvalConfig(importance_samples=5))
    assert metrics["nll"] >= 0 and metrics["bits_per_dim"] == pytest.approx(
        metrics["nll"] / (math.prod(image_shape) * math.log(2)))
    assert metrics["nll"] <= -metrics["elbo"] + 5


def test_a_vae_with_it_refuses_pixels_off_the_8bit_grid():
    model = VAE(ModelConfig(latent_dim=2, hidden=(8,), likelihood="discretized-logistic", image_shape=(1, 8, 8)))
    with pytest.raises(ValueError, match="the discretized-logistic likelihood models 8-bit pixels k/255"):
        model.check_input(torch.full((2, 64), 0.5))
    assert model.check_input(eight_bit(2)).shape == (2, 1, 8, 8)
