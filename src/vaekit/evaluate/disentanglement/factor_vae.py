"""FactorVAE score (Kim & Mnih 2018, "Disentangling by Factorising", ICML, §4), as disentanglement_lib
computes it (`evaluation/metrics/factor_vae.py`, `compute_factor_vae`).

1. Scale: s_d² = Var(z_d) over num_variance_estimate random observations (ddof 1). Dimensions with
   s_d < prune_threshold are dropped as collapsed; if none is left, every score is 0.
2. One vote: draw a factor index k uniformly; draw L factor vectors and give them all the factor
   k of the first; encode; the vote is (k, argmin_d Var_batch(z_d) / s_d²) over the kept dimensions.
3. The classifier is a majority vote: each dimension d predicts the factor k with most training
   votes (k, d). The score is the share of num_eval fresh votes it gets right.

A disentangled code stops moving in exactly one dimension when its factor is fixed: score 1;
an unrelated code gives about 1/K.

Defaults (disentanglement_lib `factor_vae_metric.gin`): L = batch_size = 64, num_train = 10,000,
num_eval = 5,000, num_variance_estimate = 10,000, prune threshold 0.05 on the standard deviation.
"""
from __future__ import annotations

import numpy as np

from vaekit.evaluate.disentanglement.utils import (GroundTruthData, RepresentationFunction, as_generator,
                                                   represent, sample_codes_and_factors)


def factor_vae_score(ground_truth: GroundTruthData, representation_function: RepresentationFunction,
                     random_state: int | np.random.Generator | None = 0, batch_size: int = 64,
                     num_train: int = 10_000, num_eval: int = 5_000, num_variance_estimate: int = 10_000,
                     prune_threshold: float = 0.05, chunk_points: int = 16) -> dict:
    """{"train_accuracy", "eval_accuracy", "num_active_dims"} of the majority-vote classifier."""
    rng = as_generator(random_state)
    codes, _ = sample_codes_and_factors(ground_truth, representation_function, num_variance_estimate, rng)
    global_variances = codes.var(0, ddof=1)                                              # (D,)
    active = np.sqrt(global_variances) >= prune_threshold
    if not active.any():
        return {"train_accuracy": 0.0, "eval_accuracy": 0.0, "num_active_dims": 0}
    train_votes = _votes(ground_truth, representation_function, rng, batch_size, num_train,
                         global_variances[active], active, chunk_points)
    classifier = train_votes.argmax(0)                                                   # (D_active,)
    eval_votes = _votes(ground_truth, representation_function, rng, batch_size, num_eval,
                        global_variances[active], active, chunk_points)
    columns = np.arange(train_votes.shape[1])
    return {"train_accuracy": float(train_votes[classifier, columns].sum() / train_votes.sum()),
            "eval_accuracy": float(eval_votes[classifier, columns].sum() / eval_votes.sum()),
            "num_active_dims": int(active.sum())}


def _votes(ground_truth: GroundTruthData, representation_function: RepresentationFunction,
           rng: np.random.Generator, batch_size: int, num_points: int, global_variances: np.ndarray,
           active: np.ndarray, chunk_points: int) -> np.ndarray:
    """Vote counts (K, D_active): votes[k, d] = number of batches with factor k fixed whose
    smallest scaled variance is in (kept) dimension d."""
    num_factors = len(ground_truth.factor_sizes)
    votes = np.zeros((num_factors, int(active.sum())), np.int64)
    for start in range(0, num_points, chunk_points):
        count = min(chunk_points, num_points - start)
        fixed = rng.integers(num_factors, size=count)                                    # (P,)
        factors = ground_truth.sample_factors(count * batch_size, rng).reshape(count, batch_size, -1)
        points = np.arange(count)
        factors[points, :, fixed] = factors[points, 0, fixed][:, None]                   # (P, L, K)
        codes = represent(representation_function,
                          ground_truth.sample_observations_from_factors(factors.reshape(count * batch_size, -1), rng))
        local_variances = codes.reshape(count, batch_size, -1)[:, :, active].var(1, ddof=1)  # (P, D_active)
        np.add.at(votes, (fixed, (local_variances / global_variances).argmin(1)), 1)
    return votes
