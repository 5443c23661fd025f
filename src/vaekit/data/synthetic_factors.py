"""A small ground-truth data set made on the fly, for testing disentanglement metrics.

K independent discrete factors, factor k uniform on {0, ..., s_k − 1}, with values
v_k = c_k / (s_k − 1) − ½ in [−½, ½]. An observation is the image (1, H, W) of

    x = σ(A v + b),    A ∈ R^{HW×K}, b ∈ R^{HW} fixed Gaussian draws (seed),

a smooth nonlinear mixing of every factor into every pixel. A has full column rank, so the
factor values come back exactly from an observation: v = A⁺(logit(x) − b) (`recover_values`),
the encoder of a perfectly disentangled representation.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch


class SyntheticFactors:
    """Ground-truth data with the interface the metrics use: `factor_sizes`, `sample_factors`,
    `sample_observations_from_factors`."""

    def __init__(self, factor_sizes: Sequence[int] = (3, 4, 5), image_size: int = 8, seed: int = 0):
        if not factor_sizes or min(factor_sizes) < 2:
            raise ValueError(f"each factor needs at least 2 values, got sizes {tuple(factor_sizes)}")
        if image_size ** 2 < len(factor_sizes):
            raise ValueError(f"{image_size}x{image_size} pixels cannot hold {len(factor_sizes)} factors")
        self.factor_sizes = tuple(int(size) for size in factor_sizes)
        self.factor_names = tuple(f"factor{k}" for k in range(len(factor_sizes)))
        self.observation_shape = (1, image_size, image_size)
        rng = np.random.default_rng(seed)
        self.mixing = rng.normal(size=(image_size ** 2, self.num_factors))   # A, (HW, K)
        self.bias = rng.normal(scale=0.5, size=image_size ** 2)              # b, (HW,)

    @property
    def num_factors(self) -> int:
        return len(self.factor_sizes)

    def sample_factors(self, num: int, rng: np.random.Generator) -> np.ndarray:
        """Classes (num, K) int64, each factor uniform and independent."""
        return np.stack([rng.integers(size, size=num) for size in self.factor_sizes], axis=1).astype(np.int64)

    def factor_values(self, factors: np.ndarray) -> np.ndarray:
        """v_k = c_k / (s_k − 1) − ½ for classes (n, K); returns (n, K) float64."""
        return np.asarray(factors) / (np.array(self.factor_sizes) - 1) - 0.5

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        """x = σ(A v + b) as images (n, 1, H, W) float32; deterministic (rng unused)."""
        logits = self.factor_values(factors) @ self.mixing.T + self.bias                # (n, HW)
        return torch.from_numpy(1 / (1 + np.exp(-logits))).float().reshape(len(factors), *self.observation_shape)

    def recover_values(self, observations: torch.Tensor) -> np.ndarray:
        """v = A⁺(logit(x) − b) for images (n, 1, H, W); returns (n, K)."""
        x = observations.double().flatten(1).numpy()
        logits = np.log(x) - np.log1p(-x)
        return (logits - self.bias) @ np.linalg.pinv(self.mixing).T
