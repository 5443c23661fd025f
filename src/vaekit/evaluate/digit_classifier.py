"""A trained classifier as the judge of generated images: how confident, how diverse.

The idea behind the Inception Score (Salimans et al. 2016, §4): a realistic sample gets a
confident prediction p(y|x) (low entropy H[p(y|x)]), and a good generator produces every class
(high entropy of the class distribution). For images x_1..x_N with softmax outputs p(y|x_n):

    mean confidence        (1/N) Σ_n max_y p(y|x_n)
    prediction entropy     (1/N) Σ_n H[p(·|x_n)],   H[p] = −Σ_y p(y) log p(y)   (nats)
    class entropy          H[h],  h_y = (1/N) #{n : argmax p(·|x_n) = y}        (nats, ≤ log K)

``class entropy`` is the entropy of the histogram of predicted classes (not of the averaged
softmax the Inception Score uses), so it counts the digits a viewer would read.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from vaekit.data import iterate_minibatches
from vaekit.nn import MLP


def build_classifier(image_shape: tuple[int, int, int] = (1, 28, 28), hidden: tuple[int, ...] = (256,),
                     num_classes: int = 10) -> nn.Module:
    """Flatten → MLP(C·H·W, hidden, num_classes) → logits; ``hidden=()`` is logistic regression."""
    return nn.Sequential(nn.Flatten(), MLP(math.prod(image_shape), tuple(hidden), num_classes))


def _check(images: torch.Tensor, labels: torch.Tensor | None = None, num_classes: int | None = None) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or not images.is_floating_point():
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"expected float images of shape (N, C, H, W), got {shape}")
    if labels is None:
        return
    if labels.shape != images.shape[:1] or labels.dtype != torch.int64:
        raise ValueError(f"expected int64 labels of shape ({len(images)},), got {labels.dtype} {tuple(labels.shape)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}), got range [{int(labels.min())}, {int(labels.max())}]")


def train_classifier(images: torch.Tensor, labels: torch.Tensor, *, hidden: tuple[int, ...] = (256,),
                     num_classes: int = 10, epochs: int = 5, batch_size: int = 128, lr: float = 1e-3,
                     seed: int = 0) -> nn.Module:
    """Minimise the cross-entropy −log p(y|x) with Adam; returns the classifier in eval mode."""
    _check(images, labels, num_classes)
    torch.manual_seed(seed)
    classifier = build_classifier(tuple(images.shape[1:]), hidden, num_classes)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    classifier.train()
    for _ in range(epochs):
        for index in iterate_minibatches(len(images), batch_size, generator=generator):
            loss = nn.functional.cross_entropy(classifier(images[index]), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return classifier.eval()


@torch.no_grad()
def predict_probabilities(classifier: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Softmax outputs p(y|x), shape (N, K)."""
    _check(images)
    classifier.eval()
    return torch.cat([classifier(images[i:i + batch_size]).softmax(-1) for i in range(0, len(images), batch_size)])


def accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of images whose most probable class is the label."""
    probabilities = predict_probabilities(classifier, images)
    _check(images, labels, probabilities.shape[1])
    return float((probabilities.argmax(1) == labels).double().mean())


def sample_quality(probabilities: torch.Tensor) -> dict:
    """Scores of (N, K) softmax rows p(y|x_n) of generated images, entropies in nats:

    mean_confidence     mean_n max_y p(y|x_n)                      (realism alone; a model that
                                                                    makes one clear digit scores 1)
    prediction_entropy  mean_n H[p(y|x_n)]                          (low: each image is clear)
    class_entropy       H of the histogram of argmax_y p(y|x_n)     (high: many digits)
    marginal_entropy    H[p̄(y)], p̄ = mean_n p(y|x_n)
    inception_score     exp(mean_n KL(p(y|x_n) ‖ p̄)) = exp(H[p̄] − mean_n H[p(y|x_n)]), in [1, K]
                        (Salimans et al. 2016; realism and diversity together)
    """
    if probabilities.dim() != 2 or len(probabilities) == 0:
        raise ValueError(f"expected probabilities of shape (N ≥ 1, K), got {tuple(probabilities.shape)}")
    if not torch.allclose(probabilities.sum(1), torch.ones(len(probabilities), dtype=probabilities.dtype), atol=1e-4):
        raise ValueError("each row of probabilities must sum to 1 (pass softmax outputs, not logits)")
    probabilities = probabilities.double()
    counts = torch.bincount(probabilities.argmax(1), minlength=probabilities.shape[1])
    histogram = counts / counts.sum()
    marginal = probabilities.mean(0)
    prediction_entropy = float(-torch.xlogy(probabilities, probabilities).sum(1).mean())
    marginal_entropy = float(-torch.xlogy(marginal, marginal).sum())
    return {
        "mean_confidence": float(probabilities.max(1).values.mean()),
        "prediction_entropy": prediction_entropy,
        "class_entropy": float(-torch.xlogy(histogram, histogram).sum()),
        "marginal_entropy": marginal_entropy,
        "inception_score": math.exp(marginal_entropy - prediction_entropy),
        "class_counts": counts.tolist(),
    }
