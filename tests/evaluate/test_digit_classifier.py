import math

import pytest
import torch

from vaekit.evaluate.digit_classifier import accuracy, predict_probabilities, sample_quality, train_classifier


def _blocks(count: int, seed: int):
    """Three classes of 8×8 images: a bright block in one of three places, plus noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (count,), generator=generator)
    images = 0.2 * torch.rand(count, 1, 8, 8, generator=generator)
    for cls in range(3):
        images[labels == cls, :, 2 * cls:2 * cls + 3, 2:6] += 0.8
    return images, labels


def test_classifier_learns_a_separable_problem():
    train_images, train_labels = _blocks(600, seed=0)
    test_images, test_labels = _blocks(300, seed=1)
    classifier = train_classifier(train_images, train_labels, hidden=(), num_classes=3, epochs=20, lr=0.01)
    assert accuracy(classifier, test_images, test_labels) == 1.0
    probabilities = predict_probabilities(classifier, test_images, batch_size=7)
    assert probabilities.shape == (300, 3)
    torch.testing.assert_close(probabilities.sum(1), torch.ones(300))


def test_sample_quality_of_known_predictions():
    confident = torch.eye(4).repeat(5, 1)                                   # every class, one-hot
    measured = sample_quality(confident)
    assert measured["mean_confidence"] == pytest.approx(1.0)
    assert measured["prediction_entropy"] == pytest.approx(0.0, abs=1e-12)
    assert measured["class_entropy"] == pytest.approx(math.log(4))
    assert measured["class_counts"] == [5, 5, 5, 5]
    assert measured["inception_score"] == pytest.approx(4.0)               # K clear, equally used classes

    undecided = torch.full((6, 4), 0.25)
    measured = sample_quality(undecided)
    assert measured["mean_confidence"] == pytest.approx(0.25)
    assert measured["prediction_entropy"] == pytest.approx(math.log(4))
    assert measured["inception_score"] == pytest.approx(1.0)               # no image says anything

    one_class = torch.tensor([[0.7, 0.1, 0.1, 0.1]]).repeat(3, 1)            # a generator stuck on one class
    measured = sample_quality(one_class)
    assert measured["class_entropy"] == pytest.approx(0.0)
    assert measured["prediction_entropy"] == pytest.approx(-(0.7 * math.log(0.7) + 0.3 * math.log(0.1)))
    assert measured["inception_score"] == pytest.approx(1.0)               # all images alike: KL(p ‖ p̄) = 0
    two_clear = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    p_bar = torch.tensor([0.25, 0.75])                                      # IS = exp(mean KL(p(y|x) ‖ p̄))
    expected = math.exp(float(0.25 * -math.log(0.25) + 0.75 * -math.log(0.75)))
    assert sample_quality(two_clear)["inception_score"] == pytest.approx(expected)
    assert float(p_bar.sum()) == 1.0


def test_clear_errors():
    with pytest.raises(ValueError, match="sum to 1"):
        sample_quality(torch.randn(3, 4))
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
        train_classifier(torch.rand(10, 64), torch.zeros(10, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        train_classifier(torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 3]), num_classes=3)
