"""What every disentanglement metric shares: the ground-truth data interface, sampling
(codes, factors) pairs, and the discrete information estimates of disentanglement_lib
(Locatello et al. 2019, `evaluation/metrics/utils.py`).

Ground-truth data is any object with
- `factor_sizes`: number of classes of each of the K factors;
- `sample_factors(num, rng)`: classes (num, K) int, factors independent and uniform;
- `sample_observations_from_factors(factors, rng)`: observations, e.g. images (num, C, H, W) float.
A representation function maps a batch of observations to codes (num, D) (numpy or torch), e.g.
the posterior mean of a VAE (`model_representation`). Codes are (N, D) and factors (N, K)
throughout, one row per data point (disentanglement_lib stores them transposed).
"""
from __future__ import annotations

from typing import Callable, Protocol

import numpy as np
import sklearn.metrics
import torch

RepresentationFunction = Callable[[torch.Tensor], "np.ndarray | torch.Tensor"]


class GroundTruthData(Protocol):
    factor_sizes: tuple[int, ...]

    def sample_factors(self, num: int, rng: np.random.Generator) -> np.ndarray: ...

    def sample_observations_from_factors(self, factors: np.ndarray, rng: np.random.Generator) -> torch.Tensor: ...


def as_generator(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed, a Generator (returned as is) or None (fresh entropy)."""
    return np.random.default_rng(random_state)


def sklearn_seed(rng: np.random.Generator) -> int:
    """An int seed for a scikit-learn estimator, drawn from `rng`."""
    return int(rng.integers(2 ** 31 - 1))


def represent(representation_function: RepresentationFunction, observations: torch.Tensor,
              batch_size: int = 256) -> np.ndarray:
    """Codes (n, D) float64 of observations (n, ...), calling the function on at most batch_size at once."""
    codes = []
    for start in range(0, len(observations), batch_size):
        batch = representation_function(observations[start:start + batch_size])
        if isinstance(batch, torch.Tensor):
            batch = batch.detach().cpu().numpy()
        codes.append(np.asarray(batch, dtype=np.float64).reshape(len(observations[start:start + batch_size]), -1))
    return np.concatenate(codes)


def sample_codes_and_factors(ground_truth: GroundTruthData, representation_function: RepresentationFunction,
                             num_points: int, rng: np.random.Generator,
                             batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """num_points i.i.d. factors (num_points, K) and the codes (num_points, D) of their observations."""
    factors = ground_truth.sample_factors(num_points, rng)
    codes = np.concatenate([
        represent(representation_function,
                  ground_truth.sample_observations_from_factors(factors[start:start + batch_size], rng), batch_size)
        for start in range(0, num_points, batch_size)
    ])
    return codes, factors


def model_representation(model: torch.nn.Module) -> RepresentationFunction:
    """The deterministic code of a vaekit model (posterior mean for a VAE) as a representation function."""

    @torch.no_grad()
    def representation(observations: torch.Tensor) -> np.ndarray:
        model.eval()
        device = next(model.parameters()).device
        return model.code(observations.to(device)).cpu().numpy()

    return representation


def histogram_discretize(codes: np.ndarray, num_bins: int = 20) -> np.ndarray:
    """Bin each code dimension into num_bins equal-width bins over its range: (N, D) int, values 1..num_bins
    (np.digitize against np.histogram's left edges, as disentanglement_lib's `_histogram_discretize`)."""
    return np.stack([np.digitize(column, np.histogram(column, num_bins)[1][:-1]) for column in codes.T], axis=1)


def discrete_mutual_info(discrete_codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Plug-in I(z_i; v_j) = Σ p(z, v) ln p(z, v) / (p(z) p(v)) in nats for each pair: (D, K)."""
    return np.array([[sklearn.metrics.mutual_info_score(factor, code) for factor in factors.T]
                     for code in discrete_codes.T])


def discrete_entropy(factors: np.ndarray) -> np.ndarray:
    """Plug-in H(v_j) = I(v_j; v_j) in nats of each factor: (K,)."""
    return np.array([sklearn.metrics.mutual_info_score(factor, factor) for factor in factors.T])
