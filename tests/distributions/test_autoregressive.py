"""The PixelCNN p(x|z) against brute force: it sums to one over all images, its samples follow
exp(log_prob), and log_prob is the chain rule Σ_i log p(x_i | x_<i, z) computed one pixel at a time."""
import pytest
import torch
from scipy.stats import chi2

from vaekit.distributions import PixelCNNBernoulli
from vaekit.nn import PixelCNN

CHANNELS = 4


def all_images(side: int) -> torch.Tensor:
    """Every binary side×side image, shape (2^(side²), 1, side, side); image n has pixel b = bit b of n."""
    pixels = side * side
    bits = [[(n >> b) & 1 for b in range(pixels)] for n in range(2 ** pixels)]
    return torch.tensor(bits, dtype=torch.double).view(-1, 1, side, side)


def distribution(side: int, batch: tuple[int, ...] = (), layers: int = 3) -> PixelCNNBernoulli:
    network = PixelCNN(CHANNELS, layers).double()
    with torch.no_grad():
        for convolution in network.convolutions:
            convolution.weight.mul_(8.0)          # at the default init each pixel hardly depends on its past
    condition = torch.randn(*batch, CHANNELS, side, side, dtype=torch.double)       # s(z) for len(batch) codes
    return PixelCNNBernoulli(network, condition)


def test_probabilities_of_all_3x3_images_sum_to_one_for_each_code():
    likelihood = distribution(3, batch=(2,))
    log_probs = likelihood.log_prob(all_images(3).unsqueeze(1))                      # (512, 2)
    assert log_probs.shape == (512, 2)
    torch.testing.assert_close(torch.logsumexp(log_probs, 0), torch.zeros(2, dtype=torch.double))
    assert (log_probs[:, 0] - log_probs[:, 1]).abs().max() > 0.1                     # the code matters


def test_log_prob_is_the_chain_rule_computed_pixel_by_pixel():
    """Reference: logit i from an image whose pixels j ≥ i are replaced by noise, one pass per pixel."""
    side, num_codes, batch = 5, 2, 3
    likelihood = distribution(side, batch=(num_codes, batch))
    x = torch.bernoulli(torch.full((batch, 1, side, side), 0.5, dtype=torch.double))   # broadcast over the codes
    order = torch.arange(side * side).view(side, side)
    reference = torch.zeros(num_codes, batch, dtype=torch.double)
    for i in range(side * side):
        row, column = divmod(i, side)
        noise = torch.bernoulli(torch.full_like(x, 0.5))
        past_only = torch.where(order < i, x, noise).expand(num_codes, *x.shape)     # (K, B, 1, H, W)
        logit = likelihood.network(past_only.reshape(-1, 1, side, side),
                                   likelihood.condition.reshape(-1, CHANNELS, side, side))[:, 0, row, column]
        probability = torch.sigmoid(logit).view(num_codes, batch)
        pixel = x[:, 0, row, column]
        reference += torch.log(torch.where(pixel == 1, probability, 1 - probability))
    torch.testing.assert_close(likelihood.log_prob(x), reference)


def test_samples_are_binary_images_with_the_frequencies_exp_log_prob():
    side, draws = 2, 40_000
    likelihood = distribution(side, batch=(1,))
    samples = likelihood.sample((draws,))                                            # (N, 1, 1, 2, 2)
    assert samples.shape == (draws, 1, 1, side, side)
    assert torch.all((samples == 0) | (samples == 1))
    powers = 2 ** torch.arange(side * side, dtype=torch.double)
    counts = torch.bincount((samples.flatten(1) * powers).sum(1).long(), minlength=16).double()
    with torch.no_grad():
        expected = draws * likelihood.log_prob(all_images(side).unsqueeze(1))[:, 0].exp()  # image n has index n
    statistic = float(((counts - expected) ** 2 / expected).sum())
    assert statistic < chi2.ppf(0.999, df=15), (counts, expected)


def test_sample_and_log_prob_shapes_follow_the_batch_of_codes():
    likelihood = distribution(4, batch=(3, 2))                                       # z of shape (K=3, B=2, D)
    assert likelihood.batch_shape == (3, 2) and likelihood.event_shape == (1, 4, 4)
    assert likelihood.sample().shape == (3, 2, 1, 4, 4)
    assert likelihood.log_prob(torch.zeros(2, 1, 4, 4, dtype=torch.double)).shape == (3, 2)


def test_mean_is_refused_with_a_reason():
    with pytest.raises(NotImplementedError, match="no closed-form mean"):
        distribution(3).mean
