"""Mutual Information Gap (Chen et al. 2018, "Isolating Sources of Disentanglement in Variational
Autoencoders", NeurIPS, §4.1, Eq. 6), as disentanglement_lib computes it
(`evaluation/metrics/mig.py`, `compute_mig`):

    MIG = (1/K) Σ_k [ I(z_{j⁽¹⁾}; v_k) − I(z_{j⁽²⁾}; v_k) ] / H(v_k),

where j⁽¹⁾, j⁽²⁾ are the code dimensions with the largest and second largest mutual information
with factor v_k. Every code dimension is discretised into 20 equal-width bins over its range, and
I and H are plug-in estimates from counts (`sklearn.metrics.mutual_info_score`), in nats.
Chen et al. estimate I from samples of q(z|x) instead; the two estimators give different numbers.

Defaults (disentanglement_lib `mig.gin`): num_train = 10,000 points, 20 bins.
"""
from __future__ import annotations

import numpy as np

from vaekit.evaluate.disentanglement.utils import (GroundTruthData, RepresentationFunction, as_generator,
                                                   discrete_entropy, discrete_mutual_info, histogram_discretize,
                                                   sample_codes_and_factors)


def mig(ground_truth: GroundTruthData, representation_function: RepresentationFunction,
        random_state: int | np.random.Generator | None = 0, num_train: int = 10_000, num_bins: int = 20,
        batch_size: int = 256) -> dict:
    """{"mig": MIG} from num_train i.i.d. points."""
    codes, factors = sample_codes_and_factors(ground_truth, representation_function, num_train,
                                              as_generator(random_state), batch_size)
    return {"mig": mig_from_codes(codes, factors, num_bins)}


def mig_from_codes(codes: np.ndarray, factors: np.ndarray, num_bins: int = 20) -> float:
    """MIG of codes (N, D ≥ 2) against discrete factors (N, K), each factor taking ≥ 2 values."""
    if codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError(f"MIG needs codes of shape (N, D ≥ 2), got {codes.shape}")
    entropy = discrete_entropy(factors)                                                 # (K,)
    if (entropy <= 0).any():
        constant = np.flatnonzero(entropy <= 0).tolist()
        raise ValueError(f"MIG is undefined for constant factors (columns {constant} of factors)")
    information = np.sort(discrete_mutual_info(histogram_discretize(codes, num_bins), factors), axis=0)  # (D, K)
    return float(np.mean((information[-1] - information[-2]) / entropy))
