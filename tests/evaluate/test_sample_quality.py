"""Sample quality against its mathematics: the Fréchet distance of Gaussians in closed form, precision
and recall of point clouds with known answers, the gradient magnitude of known images."""
import math

import numpy as np
import pytest
import scipy.linalg
import torch
from torch.distributions import Bernoulli, Independent

from vaekit.evaluate import sample_quality
from vaekit.evaluate.digit_classifier import build_classifier
from vaekit.evaluate.sample_quality import (ClassifierSettings, check_images, draw_images, feature_classifier,
                                            frechet_distance, frechet_distance_from_moments, image_features,
                                            mean_gradient_magnitude, precision_recall, sample_quality_metrics)


def test_fd_of_diagonal_gaussians_is_the_mean_gap_plus_the_gap_of_standard_deviations():
    mean_a, mean_b = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    var_a, var_b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_distance_from_moments(mean_a, np.diag(var_a), mean_b, np.diag(var_b)) == pytest.approx(expected)


def test_fd_of_non_commuting_2d_gaussians_matches_the_2x2_square_root_formula():
    # for a 2×2 M with positive eigenvalues, Tr M^{1/2} = sqrt(Tr M + 2 sqrt(det M))
    cov_a, cov_b = np.array([[2.0, 0.8], [0.8, 1.0]]), np.array([[1.0, -0.5], [-0.5, 3.0]])
    product = cov_a @ cov_b
    trace_root = math.sqrt(np.trace(product) + 2 * math.sqrt(np.linalg.det(product)))
    expected = 1.0 ** 2 + 2.0 ** 2 + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    assert frechet_distance_from_moments([0, 0], cov_a, [1, 2], cov_b) == pytest.approx(expected, rel=1e-12)


def test_fd_from_moments_matches_scipy_sqrtm_in_5d():
    rng = np.random.default_rng(0)
    factor_a, factor_b = rng.normal(size=(5, 5)), rng.normal(size=(5, 5))
    cov_a, cov_b = factor_a @ factor_a.T, factor_b @ factor_b.T
    mean_a, mean_b = rng.normal(size=5), rng.normal(size=5)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    expected = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * root)
    assert frechet_distance_from_moments(mean_a, cov_a, mean_b, cov_b) == pytest.approx(expected, rel=1e-9)


def test_fd_of_large_gaussian_samples_approaches_the_closed_form():
    rng = np.random.default_rng(1)
    cov_a, cov_b = np.array([[1.0, 0.5], [0.5, 2.0]]), np.array([[0.5, 0.0], [0.0, 0.5]])
    a = rng.multivariate_normal([0, 0], cov_a, size=200_000)
    b = rng.multivariate_normal([1, -1], cov_b, size=200_000)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance_from_moments([0, 0], cov_a, [1, -1], cov_b),
                                                   abs=0.02)


def test_fd_of_a_set_against_itself_is_zero_and_a_shift_adds_its_squared_length():
    features = torch.randn(500, 16, dtype=torch.float64) @ torch.randn(16, 16, dtype=torch.float64)
    assert frechet_distance(features, features) == pytest.approx(0, abs=1e-8)
    shift = torch.linspace(-1, 1, 16, dtype=torch.float64)
    assert frechet_distance(features, features + shift) == pytest.approx(float(shift.pow(2).sum()),
                                                                         rel=1e-8)
    assert frechet_distance(features[:250], features[250:]) == pytest.approx(
        frechet_distance(features[250:], features[:250]), rel=1e-9)


def test_fd_rejects_features_of_different_widths():
    with pytest.raises(ValueError, match="different widths"):
        frechet_distance(np.zeros((10, 3)), np.zeros((10, 4)))


def test_precision_and_recall_of_identical_sets_are_one():
    points = torch.randn(300, 5)
    assert precision_recall(points, points.clone(), k=3) == (1.0, 1.0)


def test_precision_and_recall_of_far_apart_sets_are_zero():
    points = torch.randn(300, 5)
    assert precision_recall(points, points + 100, k=3) == (0.0, 0.0)


def test_a_subset_has_precision_one_and_recall_its_share_of_the_real_clusters():
    cluster_a, cluster_b = torch.randn(200, 5), torch.randn(200, 5) + 100
    real = torch.cat([cluster_a, cluster_b])
    precision, recall = precision_recall(real, cluster_a[:150], k=3)
    assert precision == 1.0
    assert 150 / 400 <= recall < 200 / 400            # the 150 themselves, some of the other 50, none of b


def test_precision_recall_rejects_k_outside_the_sets():
    with pytest.raises(ValueError, match="k must lie"):
        precision_recall(torch.randn(5, 2), torch.randn(5, 2), k=5)


def test_gradient_magnitude_of_known_images():
    constant = torch.full((1, 1, 6, 6), 0.3)
    rows, columns = torch.meshgrid(torch.arange(6), torch.arange(8), indexing="ij")
    checkerboard = ((rows + columns) % 2).float().view(1, 1, 6, 8)
    step = (columns >= 4).float().view(1, 1, 6, 8)             # one column of unit jumps across
    values = mean_gradient_magnitude(torch.cat([checkerboard, step]))
    assert float(mean_gradient_magnitude(constant)) == 0.0
    assert values.tolist() == pytest.approx([math.sqrt(2), 1 / 7])


def test_image_features_are_the_post_relu_hidden_layer():
    torch.manual_seed(0)
    classifier = build_classifier(hidden=(32,))
    images = torch.rand(7, 1, 28, 28)
    first = classifier[1][0]
    expected = torch.relu(images.flatten(1) @ first.weight.T + first.bias)
    assert torch.allclose(image_features(classifier, images, batch_size=3), expected, atol=1e-6)


@pytest.mark.parametrize("images, message", [(torch.rand(3, 28, 28), "shape"), (torch.rand(3, 1, 8, 8), "shape"),
                                             (torch.rand(3, 1, 28, 28) * 2, "values in")])
def test_images_of_the_wrong_shape_or_range_are_refused(images, message):
    with pytest.raises(ValueError, match=message):
        check_images(images)


def test_a_set_scored_against_itself_has_fd_zero_precision_and_recall_one():
    classifier = build_classifier(hidden=(16,))
    images = torch.rand(50, 1, 28, 28)
    metrics = sample_quality_metrics(classifier, {"copy": images.clone()}, images)
    assert metrics["sample_quality_copy_fd"] == pytest.approx(0, abs=1e-8)
    assert metrics["sample_quality_copy_precision"] == metrics["sample_quality_copy_recall"] == 1.0
    assert metrics["sample_quality_copy_sharpness"] == pytest.approx(float(mean_gradient_magnitude(images).mean()))


class _Decoder:
    """A generator whose p(x|z) is Bernoulli with probabilities from z ~ U(0, 1)."""

    def sample(self, num_samples, generator=None):
        probabilities = torch.rand(num_samples, 1, 28, 28, generator=generator)
        return Independent(Bernoulli(probs=probabilities), 3)


class _ImageGenerator:
    def sample(self, num_samples, generator=None):
        return torch.rand(num_samples, 1, 28, 28, generator=generator) * 1.5 - 0.25


def test_draw_images_gives_means_and_samples_reproducibly_or_images_directly():
    first, second = draw_images(_Decoder(), 7, seed=3, batch_size=3), draw_images(_Decoder(), 7, seed=3)
    assert set(first) == {"means", "samples"} and first["means"].shape == (7, 1, 28, 28)
    assert torch.equal(first["means"], second["means"])
    assert set(first["samples"].unique().tolist()) <= {0.0, 1.0}
    direct = draw_images(_ImageGenerator(), 5)
    assert set(direct) == {"samples"} and 0 <= direct["samples"].min() and direct["samples"].max() <= 1


def test_feature_classifier_is_cached_with_its_settings(shared_data, tmp_path, monkeypatch):
    settings = ClassifierSettings(train_size=2000, hidden=(32,), epochs=3)
    cache = tmp_path / "classifier.safetensors"
    classifier, description = feature_classifier(cache, shared_data, settings)
    assert description["layer"] == "hidden-32 (post-ReLU)" and description["test_accuracy"] > 0.7
    monkeypatch.setattr(sample_quality, "train_classifier", lambda *args, **kwargs: pytest.fail("retrained"))
    cached, cached_description = feature_classifier(cache, shared_data, settings)
    assert cached_description == description
    images = torch.rand(4, 1, 28, 28)
    assert torch.equal(image_features(cached, images), image_features(classifier, images))
    with pytest.raises(pytest.fail.Exception, match="retrained"):      # other settings: not the cached one
        feature_classifier(cache, shared_data, ClassifierSettings(train_size=2000, hidden=(32,), epochs=2))
