"""Grey levels in [0, 1] to binary images, for Bernoulli likelihoods p(x|z).

Dynamic binarization draws x ~ Bernoulli(pixel) anew each time a batch is drawn (a regularizer,
as in Salakhutdinov & Murray 2008); static binarization draws one fixed sample for the whole
data set (like binarized MNIST); thresholding is deterministic.
"""
from __future__ import annotations

import torch


def bernoulli_sample(probabilities: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """x = 1[u < p] with u ~ U[0, 1), so P(x = 1) = p: an exact Bernoulli draw.

    Written with a uniform draw because torch.bernoulli with a tensor of probabilities takes a
    slow per-element path on the CPU (about 5x slower for a 128×784 batch).
    """
    uniform = torch.rand(probabilities.shape, generator=generator, dtype=probabilities.dtype,
                         device=probabilities.device)
    return uniform.lt_(probabilities)


def binarize_dynamic(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A fresh sample x ~ Bernoulli(images) on every call."""
    return bernoulli_sample(images, generator)


def binarize_static(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """One fixed sample x ~ Bernoulli(images), set by `seed` alone (not by the global RNG).

    Call it once on the whole data set: the sample of an image depends on its position.
    """
    generator = torch.Generator(device=images.device).manual_seed(seed)
    return bernoulli_sample(images, generator)


def binarize_threshold(images: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """x = 1 where images > threshold, else 0."""
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must lie in [0, 1], got {threshold}.")
    return (images > threshold).to(images.dtype)
